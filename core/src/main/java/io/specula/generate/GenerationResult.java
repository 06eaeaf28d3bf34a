package io.specula.generate;

/**
 * What a generation produced.
 *
 * @param tokenIds     the output token ids, without the prompt and without an EOS id; when a stop sequence ended the
 *                     output, up to and including the token that completed it (the text stops before it)
 * @param text         the output text
 * @param finishReason why it ended
 * @param promptTokens number of prompt tokens
 * @param stats        speculative statistics of this request; {@link DecodingStats#EMPTY} for plain decoding
 * @param latency      queue time and time to first token, as the engine measured them ({@link RequestLatency#NONE}
 *                     from a generator called directly)
 */
public record GenerationResult(int[] tokenIds, String text, FinishReason finishReason, int promptTokens,
                               DecodingStats stats, RequestLatency latency) {

    public GenerationResult {
        latency = latency == null ? RequestLatency.NONE : latency;
    }

    /** A result whose latency was not measured (a generator's own result). */
    public GenerationResult(int[] tokenIds, String text, FinishReason finishReason, int promptTokens,
                            DecodingStats stats) {
        this(tokenIds, text, finishReason, promptTokens, stats, RequestLatency.NONE);
    }

    /** This result with the engine's measure of its latency. */
    public GenerationResult withLatency(RequestLatency latency) {
        return new GenerationResult(tokenIds, text, finishReason, promptTokens, stats, latency);
    }

    public int completionTokens() {
        return tokenIds.length;
    }
}
