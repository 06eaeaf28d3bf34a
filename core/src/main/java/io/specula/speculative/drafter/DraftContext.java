package io.specula.speculative.drafter;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;

/**
 * What a draft session sees of its request.
 *
 * @param sequence  prompt + output so far (the generator appends; the session only reads)
 * @param processor the request's logits processor, the same one the target's tokens go through, so q and p match
 * @param history   the output's token counts (penalty history). A session may add its drafts while drafting later
 *                  positions but must leave it as it found it.
 * @param sampler   the sampler the drafter draws with, keyed to output positions: the request's own under the coupled
 *                  rule, an independent one under rejection sampling
 *                  ({@link io.specula.speculative.verify.AcceptanceRule#drafterSampler})
 * @param vocabSize ids the target can emit (its output rows); drafts stay below it
 * @param capacity  the most positions the request may use (prompt + output)
 */
public record DraftContext(TokenSequence sequence, LogitsProcessor processor, TokenCounts history,
                           TokenSampler sampler, int vocabSize, int capacity) {

    public boolean greedy() {
        return processor.params().isGreedy();
    }
}
