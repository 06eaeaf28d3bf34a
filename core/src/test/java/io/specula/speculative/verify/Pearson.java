package io.specula.speculative.verify;

import java.util.ArrayList;
import java.util.List;

/**
 * Pearson's chi-square goodness-of-fit over one or more groups of cells (df = Σ (cells − 1)): within a group, cells
 * with expected count below 5 are merged into one; cells with p = 0 are not tested but counted in {@link #impossible}
 * (they must stay empty). The p-value is the exact chi-square upper tail ({@link ChiSquare}).
 */
public final class Pearson {
    public double statistic;
    public int df;
    public long impossible;

    public void addGroup(long[] observed, float[] p, long n) {
        List<long[]> merged = new ArrayList<>();
        List<Double> expected = new ArrayList<>();
        long smallObserved = 0;
        double smallExpected = 0;
        for (int i = 0; i < observed.length; i++) {
            double e = p[i] * (double) n;
            if (p[i] == 0) {
                impossible += observed[i];
            } else if (e < 5) {
                smallObserved += observed[i];
                smallExpected += e;
            } else {
                merged.add(new long[] {observed[i]});
                expected.add(e);
            }
        }
        if (smallExpected > 0) {
            merged.add(new long[] {smallObserved});
            expected.add(smallExpected);
        }
        for (int i = 0; i < merged.size(); i++) {
            double d = merged.get(i)[0] - expected.get(i);
            statistic += d * d / expected.get(i);
        }
        df += merged.size() - 1;
    }

    public double pValue() {
        return df == 0 ? 1 : ChiSquare.pValue(statistic, df);
    }
}
