package io.specula.generate;

import java.util.SplittableRandom;

/** Draws tokens from probability vectors with the request's own seeded random generator. */
public final class TokenSampler {

    private final SplittableRandom random;

    public TokenSampler(Long seed) {
        this.random = seed == null ? new SplittableRandom() : new SplittableRandom(seed);
    }

    /** A uniform number in [0, 1). */
    public double uniform() {
        return random.nextDouble();
    }

    /**
     * Draws an index with probability proportional to {@code p[i]} (p need not sum to exactly 1).
     *
     * @throws IllegalArgumentException when no entry is positive (all zero, or NaN): there is nothing to draw from,
     *                                  and answering token 0 would pass a broken distribution off as a token
     */
    public int sample(float[] p) {
        double total = 0;
        for (float v : p) {
            total += v;
        }
        if (!(total > 0) || Double.isInfinite(total)) {
            throw new IllegalArgumentException("cannot sample: the probabilities sum to " + total
                    + " (expected a finite positive total over " + p.length + " tokens)");
        }
        double u = random.nextDouble() * total;
        double cumulative = 0;
        int last = -1;
        for (int i = 0; i < p.length; i++) {
            if (p[i] > 0) {
                cumulative += p[i];
                last = i;
                if (u < cumulative) {
                    return i;
                }
            }
        }
        return last;
    }
}
