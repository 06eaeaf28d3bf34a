package io.specula.speculative.policy;

import java.util.Arrays;

/**
 * Estimated costs of what speculation adds to a request, in nanoseconds (or, before anything is measured, in units of
 * one plain target step):
 * <ul>
 *   <li><b>a draft</b> of g tokens: {@code draftFixed + draftPerToken·g}, a fixed part per draft (catching up on the
 *       last one or two tokens, the drafter's first pass, bookkeeping) plus a part per drafted token, as the sweeps of
 *       docs/benchmarks.md show (c falls with γ);</li>
 *   <li><b>catching up</b> on a backlog of b tokens the drafter has not seen (the prompt before the first draft of a
 *       request, the tokens of plain steps since its last draft): {@code catchUpPerToken·(b − 1)} more;</li>
 *   <li><b>a target pass</b> by its width w, the positions it scores (1 for a plain step, γ + 1 to verify γ drafts):
 *       measured per width, since on a CPU a 5-wide pass costs 1.3–1.5× a 1-wide one and on a GPU about the same.
 *       Widths never measured are interpolated between measured neighbours, or extrapolated from the nearest two (or,
 *       with one measurement, with a mild prior slope of {@value #PRIOR_SLOPE} per extra position).</li>
 * </ul>
 * Unknown values are NaN and replaced by priors relative to a plain step ({@link #PRIOR_DRAFT_RATIO},
 * {@link #PRIOR_CATCH_UP_RATIO}).
 *
 * <p><b>Batching (issue 24).</b> The policy prices a pass through {@link #verify(int)} alone; a batched engine, where
 * one pass carries the positions of several requests, gives the policy {@code w -> verify(W + w) − verify(W)} instead,
 * the marginal cost of w more positions in a pass already W wide, and the same decision rule then weighs drafts by
 * what they add to the shared pass.
 *
 * @param draftFixed         fixed part of a draft's cost, NaN if unknown
 * @param draftPerToken      part per drafted token, NaN if unknown
 * @param catchUpPerToken    cost per backlog token beyond the first, NaN if unknown
 * @param verifyNanosByWidth index w−1 holds the cost of a target pass of width w, NaN if unknown
 */
public final class CostModel {

    /** Relative extra cost of each additional scored position, assumed until two widths are measured. */
    public static final double PRIOR_SLOPE = 0.1;

    /** Drafter cost per drafted token relative to a plain target step, assumed until measured (a drafter ~5x smaller). */
    public static final double PRIOR_DRAFT_RATIO = 0.2;

    /** Catch-up cost per token relative to a plain step, assumed until measured (one wide pass of the drafter). */
    public static final double PRIOR_CATCH_UP_RATIO = 0.05;

    private final double draftFixed;
    private final double draftPerToken;
    private final double catchUpPerToken;
    private final double[] verifyNanosByWidth;
    /** verify(w) for w = 1..length: interpolated, and never below a narrower pass's (see {@link #verify}). */
    private final double[] passCost;

    public CostModel(double draftFixed, double draftPerToken, double catchUpPerToken, double[] verifyNanosByWidth) {
        this.draftFixed = draftFixed;
        this.draftPerToken = draftPerToken;
        this.catchUpPerToken = catchUpPerToken;
        this.verifyNanosByWidth = verifyNanosByWidth.clone();
        this.passCost = new double[verifyNanosByWidth.length];
        double floor = 0;
        boolean allKnown = true;
        for (double v : verifyNanosByWidth) {
            allKnown &= !Double.isNaN(v);
        }
        for (int w = 1; w <= passCost.length; w++) {
            // The common case (every width measured) skips the search for neighbours.
            floor = Math.max(floor, allKnown ? verifyNanosByWidth[w - 1] : estimate(w));
            passCost[w - 1] = floor;
        }
    }

    public double draftFixed() {
        return draftFixed;
    }

    public double draftPerToken() {
        return draftPerToken;
    }

    public double catchUpPerToken() {
        return catchUpPerToken;
    }

    /** The measured costs by width (NaN: never measured). */
    public double[] verifyNanosByWidth() {
        return verifyNanosByWidth.clone();
    }

    /** Known costs, nothing estimated (for tests and simulations): a draft costs {@code draftPerToken} per token. */
    public static CostModel of(double draftPerToken, double... verifyNanosByWidth) {
        return new CostModel(0, draftPerToken, 0, verifyNanosByWidth);
    }

    /** A copy that knows nothing about the drafter. */
    static CostModel unknown(int widths) {
        double[] v = new double[widths];
        Arrays.fill(v, Double.NaN);
        return new CostModel(Double.NaN, Double.NaN, Double.NaN, v);
    }

    public int maxWidth() {
        return verifyNanosByWidth.length;
    }

    /** A plain target step. */
    public double plainStep() {
        return verify(1);
    }

    /** Cost of drafting {@code tokens} tokens from a caught-up drafter (backlog of one or two tokens). */
    public double draft(int tokens) {
        if (tokens <= 0) {
            return 0;
        }
        double perToken = Double.isNaN(draftPerToken) ? PRIOR_DRAFT_RATIO * plainStep() : Math.max(0, draftPerToken);
        double fixed = Double.isNaN(draftFixed) ? 0 : draftFixed;
        return Math.max(0, fixed + perToken * tokens);
    }

    /** The extra cost of catching up on {@code backlog} tokens before a draft, beyond a steady-state draft's. */
    public double catchUp(int backlog) {
        if (backlog <= 1) {
            return 0;
        }
        double perToken = Double.isNaN(catchUpPerToken) ? PRIOR_CATCH_UP_RATIO * plainStep()
                : Math.max(0, catchUpPerToken);
        return perToken * (backlog - 1);
    }

    /** Cost of one decoding step drafting {@code tokens} tokens (0: a plain step) from a caught-up drafter. */
    public double step(int tokens) {
        return draft(tokens) + verify(tokens + 1);
    }

    /**
     * Cost of a target pass scoring {@code width} positions. Never less than a narrower pass's: a wider pass does all
     * of its work and more, so a measurement that says otherwise is noise (a 1-wide pass measured while another
     * process held the core) and would make drafts look free.
     */
    public double verify(int width) {
        if (width >= 1 && width <= passCost.length) {
            return passCost[width - 1];
        }
        return Math.max(passCost.length == 0 ? 0 : passCost[passCost.length - 1], estimate(width));
    }

    /** A width's cost from the measurements alone: measured, interpolated or extrapolated. */
    private double estimate(int width) {
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
    public boolean equals(Object o) {
        return o instanceof CostModel c && Double.compare(draftFixed, c.draftFixed) == 0
                && Double.compare(draftPerToken, c.draftPerToken) == 0
                && Double.compare(catchUpPerToken, c.catchUpPerToken) == 0
                && Arrays.equals(verifyNanosByWidth, c.verifyNanosByWidth);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(verifyNanosByWidth) * 31 + Double.hashCode(draftPerToken);
    }

    @Override
    public String toString() {
        return "CostModel[draft=" + draftFixed + " + " + draftPerToken + "/token, catch-up=" + catchUpPerToken
                + "/token, verify=" + Arrays.toString(verifyNanosByWidth) + "]";
    }
}
