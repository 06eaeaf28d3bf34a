package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;

/**
 * Decides which drafted tokens the target keeps, given the target's logits at every draft position, such that the
 * output is what the target alone would produce: token for token under greedy decoding ({@link GreedyAcceptance}) and
 * under seeded sampling ({@link CoupledAcceptance}), in distribution under unseeded sampling ({@link RejectionSampler}).
 */
public interface AcceptanceRule {

    /**
     * @param targetLogits {@code draft.size() + 1} rows: row i is the target's next-token logits after the i-th draft
     *                     token (row 0 after the last token before the draft)
     * @param position     the output position row 0 decides (tokens already in the output); the random draws are
     *                     keyed to it ({@link TokenSampler})
     * @param processor    the request's logits processor
     * @param history      the output's token counts; the rule adds each draft while judging later positions (penalties
     *                     see the draft as history, as they would in plain decoding) and restores it before returning
     * @param sampler      the request's sampler
     */
    Verdict judge(float[][] targetLogits, Draft draft, int position, LogitsProcessor processor, TokenCounts history,
                  TokenSampler sampler);

    /**
     * The sampler the drafter draws its tokens with: the request's own when the rule relies on shared draws
     * ({@link CoupledAcceptance}), an independent one when it relies on independent draws ({@link RejectionSampler}).
     */
    default TokenSampler drafterSampler(TokenSampler requestSampler) {
        return requestSampler;
    }

    /**
     * The rule of a request, the one place it is chosen: greedy requests compare argmaxes; seeded sampling requests
     * use the coupled rule, whose output is the plain sampler's for the same seed whatever the draft lengths; unseeded
     * sampling requests use rejection sampling, which accepts a few percent more drafts (docs/benchmarks.md) where
     * nobody can replay the output anyway.
     */
    static AcceptanceRule forParams(SamplingParams params) {
        if (params.isGreedy()) {
            return GreedyAcceptance.INSTANCE;
        }
        return params.seed() != null ? CoupledAcceptance.INSTANCE : RejectionSampler.INSTANCE;
    }
}
