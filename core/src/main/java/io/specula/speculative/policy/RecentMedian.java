package io.specula.speculative.policy;

/**
 * The weighted median of the last {@value RecentFit#WINDOW} observations, each weighted by its age in passes of
 * <em>any</em> width: the weight halves every {@code halfLife} passes ({@value #HALF_LIFE} by default). With the default,
 * for a quantity observed every pass that is about {@value RecentFit#RECENCY}^age, like {@link RecentFit} (some 7 new
 * observations outweigh all older ones), and a stall among recent observations barely moves it. With a long half-life
 * it is the plain median of the last observations, however long ago they were made: for a quantity that does not change
 * with the machine's load ({@link AdaptiveEstimates}' shape of the pass cost by width). Not thread-safe:
 * {@link AdaptiveEstimates} calls it under its lock.
 */
final class RecentMedian {

    /** Passes (of any width) after which an observation counts half, by default. */
    static final double HALF_LIFE = 7;

    private static final double[] DEFAULT_WEIGHTS = weights(HALF_LIFE);

    /** 0.5^(age / halfLife) by age in passes; older observations weigh (next to) nothing. */
    private static double[] weights(double halfLife) {
        double[] w = new double[512];
        for (int age = 0; age < w.length; age++) {
            w[age] = Math.pow(0.5, age / halfLife);
        }
        return w;
    }

    private final double halfLife;
    private final double[] weightByAge;
    private final double[] ring = new double[RecentFit.WINDOW];
    private final long[] at = new long[RecentFit.WINDOW];
    private final double[] sorted = new double[RecentFit.WINDOW];
    private final double[] sortedWeights = new double[RecentFit.WINDOW];
    private int count;
    private int next;
    private double value = Double.NaN;

    RecentMedian() {
        this(HALF_LIFE);
    }

    /** @param halfLife passes after which an observation counts half; {@code Double.POSITIVE_INFINITY}: never */
    RecentMedian(double halfLife) {
        this.halfLife = halfLife;
        this.weightByAge = halfLife == HALF_LIFE ? DEFAULT_WEIGHTS : weights(halfLife);
    }

    /** Adds an observation made at pass number {@code pass} (counted over all widths). */
    void add(double observed, long pass) {
        ring[next] = observed;
        at[next] = pass;
        next = (next + 1) % ring.length;
        count = Math.min(ring.length, count + 1);
        value = weightedMedian(pass);
    }

    /** NaN before the first observation. */
    double value() {
        return value;
    }

    int observations() {
        return count;
    }

    private double weightedMedian(long now) {
        // Insertion sort of (value, weight): at most 32 entries.
        double total = 0;
        for (int k = 0; k < count; k++) {
            int slot = Math.floorMod(next - 1 - k, ring.length);
            double v = ring[slot];
            long age = now - at[slot];
            // Past the table (with the default half-life) an observation weighs 1e-22 of a new one or less: nothing, but
            // kept positive so that a width observed only long ago still has a median.
            double w = age < weightByAge.length ? weightByAge[(int) age]
                    : Math.max(1e-300, Math.pow(0.5, age / halfLife));
            int i = k;
            while (i > 0 && sorted[i - 1] > v) {
                sorted[i] = sorted[i - 1];
                sortedWeights[i] = sortedWeights[i - 1];
                i--;
            }
            sorted[i] = v;
            sortedWeights[i] = w;
            total += w;
        }
        double half = total / 2;
        double cumulative = 0;
        for (int i = 0; i < count; i++) {
            cumulative += sortedWeights[i];
            if (cumulative >= half) {
                return sorted[i];
            }
        }
        return sorted[count - 1];
    }
}
