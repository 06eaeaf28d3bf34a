package io.specula.speculative.drafter;

import java.util.Arrays;

/**
 * The tokens of one request so far: the prompt followed by the output. The generator appends to it; drafters read it
 * (the n-gram drafter searches it, the model drafter catches its cache up from it). Not thread-safe: one request,
 * one decoding thread.
 */
public final class TokenSequence {

    private int[] tokens;
    private int length;
    private final int promptLength;

    public TokenSequence(int[] prompt) {
        this.tokens = Arrays.copyOf(prompt, Math.max(16, prompt.length * 2));
        this.length = prompt.length;
        this.promptLength = prompt.length;
    }

    public int length() {
        return length;
    }

    public int promptLength() {
        return promptLength;
    }

    public int outputLength() {
        return length - promptLength;
    }

    public int get(int index) {
        if (index < 0 || index >= length) {
            throw new IndexOutOfBoundsException("index " + index + ", length " + length);
        }
        return tokens[index];
    }

    public int last() {
        return tokens[length - 1];
    }

    /** Tokens {@code from .. to-1}, a copy. */
    public int[] slice(int from, int to) {
        if (from < 0 || to > length || from > to) {
            throw new IndexOutOfBoundsException("slice " + from + ".." + to + " of " + length);
        }
        return Arrays.copyOfRange(tokens, from, to);
    }

    public void append(int token) {
        if (length == tokens.length) {
            tokens = Arrays.copyOf(tokens, tokens.length * 2);
        }
        tokens[length++] = token;
    }

    /** Direct read access for searches (valid up to {@link #length()}); never written through. */
    int[] array() {
        return tokens;
    }

    /** Whether {@code tokens[a .. a+n)} equals {@code tokens[b .. b+n)}. */
    public boolean regionMatches(int a, int b, int n) {
        return Arrays.equals(tokens, a, a + n, tokens, b, b + n);
    }
}
