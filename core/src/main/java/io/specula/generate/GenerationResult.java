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
 */
public record GenerationResult(int[] tokenIds, String text, FinishReason finishReason, int promptTokens,
                               DecodingStats stats) {

    public int completionTokens() {
        return tokenIds.length;
    }
}
