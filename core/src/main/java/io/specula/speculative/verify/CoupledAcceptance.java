package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;

/**
 * Seeded sampling, reproducible: at every output position the target's token is the one plain sampling draws there,
 * {@link TokenSampler#sample} of the target's processed distribution p with the draw keyed to (seed, position); a
 * drafted token is accepted exactly when it equals that token, and the first mismatch ends the step with the target's
 * token. The drafter draws its tokens from its own q with the <em>same</em> keyed draws (an exponential race), so it
 * proposes the target's token as often as a communication-free coupling of q and p allows.
 *
 * <p><b>Exactness.</b> Every output token is {@code sample(p_i, key(seed, i))} where p_i is the target's distribution
 * given the output before position i: the same function of the same inputs as in plain decoding, so the output is
 * plain sampling's token for token (and so follows the target's distribution), whatever was drafted, accepted or
 * chosen by a policy that decides on measured times. Only how many target passes it takes depends on the drafts.
 *
 * <p><b>Cost.</b> A draft is accepted with probability Σ_t 1 / Σ_s max(p_s/p_t, q_s/q_t) (the race's coupling), a little
 * below rejection sampling's Σ_t min(p_t, q_t): on the shipped pair at temperature 0.7, 0.847 of first drafts against
 * 0.861-0.875 (docs/benchmarks.md, "Seeded and unseeded sampling"). Accepting a draft "only if it equals a token the
 * target drew independently" would give only Σ_t p_t q_t; coupling through one uniform and the inverse CDF depends on
 * the order of the vocabulary.
 */
public final class CoupledAcceptance implements AcceptanceRule {

    public static final CoupledAcceptance INSTANCE = new CoupledAcceptance();

    private CoupledAcceptance() {
    }

    @Override
    public Verdict judge(float[][] targetLogits, Draft draft, int position, LogitsProcessor processor,
                         TokenCounts history, TokenSampler sampler) {
        // The target's token at each position is the one plain sampling draws there (the same keyed draw).
        return GreedyAcceptance.acceptWhileEqual(draft, history,
                i -> sampler.sample(processor.probabilities(targetLogits[i], history), position + i));
    }
}
