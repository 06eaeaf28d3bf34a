package io.specula.speculative.policy;

/**
 * The weighted median of a pass width's last {@value RecentFit#WINDOW} cost observations, each weighted by its age
 * in passes of <em>any</em> width: the weight halves every {@value #HALF_LIFE} passes. For a width the policy uses
 * every step that is about {@value RecentFit#RECENCY}^age, like {@link RecentFit} (some 7 new observations outweigh
 * all older ones); for a width it has avoided for a while, one new observation outweighs everything measured before
 * (a cost measured during a load burst long ago says nothing now). A stall among recent observations barely moves it.
 * Not thread-safe: {@link AdaptiveEstimates} calls it under its lock.
 */
final class RecentMedian {

    /** Passes (of any width) after which an observation counts half. */
    static final double HALF_LIFE = 7;

    /** 0.5^(age / HALF_LIFE) by age in passes; older observations weigh (next to) nothing. */
    private static final double[] WEIGHT_BY_AGE = new double[512];

    static {
        for (int age = 0; age < WEIGHT_BY_AGE.length; age++) {
            WEIGHT_BY_AGE[age] = Math.pow(0.5, age / HALF_LIFE);
        }
    }

    private final double[] ring = new double[RecentFit.WINDOW];
    private final long[] at = new long[RecentFit.WINDOW];
    private final double[] sorted = new double[RecentFit.WINDOW];
    private final double[] sortedWeights = new double[RecentFit.WINDOW];
    private int count;
    private int next;
    private double value = Double.NaN;

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
            // Past the table an observation weighs 1e-22 of a new one: nothing, but kept positive so that a width
            // observed only long ago still has a median.
            double w = age < WEIGHT_BY_AGE.length ? WEIGHT_BY_AGE[(int) age] : 1e-300;
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
