package io.specula.generate;

/**
 * Statistics of one generation (speculative figures are zero for plain decoding). Names follow vLLM's speculative
 * metrics: a "draft" is one proposal of one or more tokens, acceptance rate = accepted / drafted tokens, mean
 * acceptance length = 1 + accepted / drafts (tokens produced per target pass while speculating).
 *
 * @param speculative        whether the request ran the speculative path (a drafter and speculation on), even if its
 *                           policy drafted nothing
 * @param steps                target forward passes after the prompt
 * @param drafts               steps that verified at least one drafted token
 * @param draftedTokens        tokens proposed by the drafter and scored by the target
 * @param acceptedTokens       drafted tokens the target accepted
 * @param acceptedByPosition   acceptedByPosition[i] = drafts whose token at draft position i was accepted
 * @param draftedByPosition    draftedByPosition[i] = drafts that had a token at draft position i
 * @param generatedTokens      tokens in the output
 * @param promptNanos          time to process the prompt (the target's prefill; a drafter catches up on the prompt at
 *                           its first draft, which counts in draftNanos)
 * @param draftNanos           time spent drafting
 * @param verifyNanos          time spent in target passes after the prompt
 * @param totalNanos           wall time of the whole generation
 */
public record DecodingStats(boolean speculative, long steps, long drafts, long draftedTokens, long acceptedTokens,
                            long[] acceptedByPosition, long[] draftedByPosition, long generatedTokens,
                            long promptNanos, long draftNanos, long verifyNanos, long totalNanos) {

    public static final DecodingStats EMPTY = new DecodingStats(false, 0, 0, 0, 0, new long[0], new long[0], 0, 0, 0, 0, 0);

    /** Accepted / drafted tokens; 0 when nothing was drafted. */
    public double acceptanceRate() {
        return draftedTokens == 0 ? 0 : (double) acceptedTokens / draftedTokens;
    }

    /** 1 + accepted / drafts: tokens produced per verification pass while speculating; 0 when nothing was drafted. */
    public double meanAcceptanceLength() {
        return drafts == 0 ? 0 : 1 + (double) acceptedTokens / drafts;
    }

    /** Output tokens per second of decoding (after the prompt). */
    public double decodeTokensPerSecond() {
        long decode = totalNanos - promptNanos;
        return decode <= 0 ? 0 : generatedTokens * 1e9 / decode;
    }
}
