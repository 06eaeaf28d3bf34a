package io.specula.generate;

/**
 * How often each token occurs in the output so far: the history that frequency and presence penalties look at.
 * Speculative decoding adds drafted tokens while scoring later draft positions and removes rejected ones again.
 */
public final class TokenCounts {

    private final int[] counts;

    public TokenCounts(int vocabSize) {
        this.counts = new int[vocabSize];
    }

    public void add(int token) {
        if (token >= 0 && token < counts.length) {
            counts[token]++;
        }
    }

    public void remove(int token) {
        if (token >= 0 && token < counts.length && counts[token] > 0) {
            counts[token]--;
        }
    }

    public int count(int token) {
        return token >= 0 && token < counts.length ? counts[token] : 0;
    }

    public TokenCounts copy() {
        TokenCounts c = new TokenCounts(counts.length);
        System.arraycopy(counts, 0, c.counts, 0, counts.length);
        return c;
    }
}
