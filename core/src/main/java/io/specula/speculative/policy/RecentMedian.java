package io.specula.speculative.policy;

/**
 * The weighted median of the last {@value RecentFit#WINDOW} observations, weighted {@value RecentFit#RECENCY}^age: the
 * one-number case of {@link RecentFit} (the cost of a target pass of one width), computed exactly. About
 * {@value RecentFit#TAKE_OVER} new observations outweigh all older ones; a stall among them barely moves it. Not
 * thread-safe: {@link AdaptiveEstimates} calls it under its lock.
 */
final class RecentMedian {

    private final double[] ring = new double[RecentFit.WINDOW];
    private final double[] sorted = new double[RecentFit.WINDOW];
    private final double[] sortedWeights = new double[RecentFit.WINDOW];
    private int count;
    private int next;
    private double value = Double.NaN;

    void add(double observed) {
        ring[next] = observed;
        next = (next + 1) % ring.length;
        count = Math.min(ring.length, count + 1);
        value = weightedMedian();
    }

    /** NaN before the first observation. */
    double value() {
        return value;
    }

    int observations() {
        return count;
    }

    private double weightedMedian() {
        // Insertion sort of (value, weight), newest first: at most 32 entries.
        double w = 1;
        double total = 0;
        for (int k = 0; k < count; k++) {
            double v = ring[Math.floorMod(next - 1 - k, ring.length)];
            int i = k;
            while (i > 0 && sorted[i - 1] > v) {
                sorted[i] = sorted[i - 1];
                sortedWeights[i] = sortedWeights[i - 1];
                i--;
            }
            sorted[i] = v;
            sortedWeights[i] = w;
            total += w;
            w *= RecentFit.RECENCY;
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
