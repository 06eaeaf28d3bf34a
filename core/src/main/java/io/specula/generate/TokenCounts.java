package io.specula.generate;

/**
 * The output so far as the logits processor sees it: how often each token occurs (the history that frequency and
 * presence penalties look at) and, for a constrained request, the {@link TokenConstraint} that follows the output.
 * Speculative decoding adds drafted tokens while scoring later draft positions and removes rejected ones again; the
 * removed tokens are always the last ones added (the constraint pops them in that order).
 */
public final class TokenCounts {

    private final int[] counts;
    private final TokenConstraint constraint;

    public TokenCounts(int vocabSize) {
        this(vocabSize, null);
    }

    /** @param constraint the request's constraint on the output, or {@code null} for none */
    public TokenCounts(int vocabSize, TokenConstraint constraint) {
        this.counts = new int[vocabSize];
        this.constraint = constraint;
    }

    public void add(int token) {
        if (token >= 0 && token < counts.length) {
            counts[token]++;
        }
        if (constraint != null) {
            constraint.push(token);
        }
    }

    public void remove(int token) {
        if (token >= 0 && token < counts.length && counts[token] > 0) {
            counts[token]--;
        }
        if (constraint != null) {
            constraint.pop();
        }
    }

    public int count(int token) {
        return token >= 0 && token < counts.length ? counts[token] : 0;
    }

    /** The logits restricted to the tokens the constraint allows next; {@code logits} itself without a constraint. */
    public float[] constrain(float[] logits) {
        return constraint == null ? logits : constraint.mask(logits);
    }

    public boolean isConstrained() {
        return constraint != null;
    }
}
