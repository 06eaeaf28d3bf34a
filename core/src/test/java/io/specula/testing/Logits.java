package io.specula.testing;

/** Small helpers over logit rows for tests that compare engines token by token. */
public final class Logits {

    private Logits() {
    }

    /** The index of the largest value, the first one on ties (as torch.argmax and transformers' greedy search). */
    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }
}
