package io.specula.speculative.policy;

import java.util.Arrays;

/**
 * Estimated costs of one decoding step's parts, in nanoseconds: a drafter step per drafted token, and a target pass
 * as a function of how many positions it scores (its width, 1 for a plain step, γ+1 when verifying γ drafts). On a
 * GPU a 5-wide pass costs about what a 1-wide one does; on a CPU it costs noticeably more, which is why the width
 * matters.
 *
 * <p>Widths never measured are interpolated between measured neighbours, or extrapolated from the nearest two (or,
 * with one measurement, with a mild prior slope of {@value #PRIOR_SLOPE} per extra position). With no measurement at
 * all, costs are in units of one plain step. Unknown values are NaN in the arrays.
 *
 * @param draftNanosPerToken  a drafter step, NaN if unknown
 * @param verifyNanosByWidth  index w−1 holds the cost of a target pass of width w, NaN if unknown
 */
public record CostModel(double draftNanosPerToken, double[] verifyNanosByWidth) {

    /** Relative extra cost of each additional scored position, assumed until two widths are measured. */
    public static final double PRIOR_SLOPE = 0.1;

    /** Drafter cost relative to a plain target step, assumed until measured (a drafter ~5x smaller). */
    public static final double PRIOR_DRAFT_RATIO = 0.2;

    public CostModel {
        verifyNanosByWidth = verifyNanosByWidth.clone();
    }

    /** Known costs, nothing estimated (for tests and simulations). */
    public static CostModel of(double draftNanosPerToken, double... verifyNanosByWidth) {
        return new CostModel(draftNanosPerToken, verifyNanosByWidth);
    }

    public int maxWidth() {
        return verifyNanosByWidth.length;
    }

    public double draft() {
        return Double.isNaN(draftNanosPerToken) ? PRIOR_DRAFT_RATIO * verify(1) : draftNanosPerToken;
    }

    public double verify(int width) {
        double[] v = verifyNanosByWidth;
        if (width >= 1 && width <= v.length && !Double.isNaN(v[width - 1])) {
            return v[width - 1];
        }
        int lower = known(width - 1, -1);
        int upper = known(width + 1, +1);
        if (lower > 0 && upper > 0) {
            double t = (double) (width - lower) / (upper - lower);
            return v[lower - 1] + t * (v[upper - 1] - v[lower - 1]);
        }
        if (lower > 0) {
            int lower2 = known(lower - 1, -1);
            double slope = lower2 > 0
                    ? Math.max(0, (v[lower - 1] - v[lower2 - 1]) / (lower - lower2))
                    : PRIOR_SLOPE * v[lower - 1] / (1 + PRIOR_SLOPE * (lower - 1));
            return v[lower - 1] + slope * (width - lower);
        }
        if (upper > 0) {
            int upper2 = known(upper + 1, +1);
            double slope = upper2 > 0
                    ? Math.max(0, (v[upper2 - 1] - v[upper - 1]) / (upper2 - upper))
                    : PRIOR_SLOPE * v[upper - 1] / (1 + PRIOR_SLOPE * (upper - 1));
            // Never below a tenth of the measured cost: a pass has a fixed part (reading the weights).
            return Math.max(0.1 * v[upper - 1], v[upper - 1] - slope * (upper - width));
        }
        return 1 + PRIOR_SLOPE * (width - 1);
    }

    /** Nearest measured width from {@code from} in direction {@code step}, or -1. */
    private int known(int from, int step) {
        for (int w = from; w >= 1 && w <= verifyNanosByWidth.length; w += step) {
            if (!Double.isNaN(verifyNanosByWidth[w - 1])) {
                return w;
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return "CostModel[draft=" + draftNanosPerToken + ", verify=" + Arrays.toString(verifyNanosByWidth) + "]";
    }
}
