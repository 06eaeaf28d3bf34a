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

    /** Draws an index with probability proportional to {@code p[i]} (p need not sum to exactly 1). */
    public int sample(float[] p) {
        double total = 0;
        for (float v : p) {
            total += v;
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
        return last < 0 ? 0 : last;
    }
}
