package io.specula.tokenizer;

/**
 * Turns a stream of token ids into text deltas, holding back bytes that do not yet form a whole UTF-8 character
 * (byte-fallback tokens such as {@code <0xE2>}), so that concatenating every delta equals decoding all ids at once.
 */
public interface StreamingDetokenizer {

    /** Adds one token; returns the text it completes (possibly empty). */
    String push(int tokenId);

    /** Text held back at the end of the stream (an incomplete character becomes U+FFFD). */
    String flush();
}
