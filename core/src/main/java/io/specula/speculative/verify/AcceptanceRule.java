package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;

/**
 * Decides which drafted tokens the target keeps, given the target's logits at every draft position, such that the
 * output is what the target alone would produce: token for token under greedy decoding
 * ({@link GreedyAcceptance}), in distribution under sampling ({@link RejectionSampler}).
 */
public interface AcceptanceRule {

    /**
     * @param targetLogits {@code draft.size() + 1} rows: row i is the target's next-token logits after the i-th draft
     *                     token (row 0 after the last token before the draft)
     * @param processor    the request's logits processor
     * @param history      the output's token counts; the rule adds each draft while judging later positions (penalties
     *                     see the draft as history, as they would in plain decoding) and restores it before returning
     * @param sampler      the request's random stream
     */
    Verdict judge(float[][] targetLogits, Draft draft, LogitsProcessor processor, TokenCounts history,
                  TokenSampler sampler);

    /** Greedy requests compare argmaxes; sampling requests use rejection sampling. */
    static AcceptanceRule forParams(SamplingParams params) {
        return params.isGreedy() ? GreedyAcceptance.INSTANCE : RejectionSampler.INSTANCE;
    }
}
