package io.specula.speculative.policy;

/**
 * A linear model y ≈ β·x fitted to the most recent observations only, robustly: the estimate a policy can keep
 * correcting. Three choices make it so:
 * <ul>
 *   <li><b>recent:</b> a ring of the last {@value #WINDOW} observations, weighted {@value #RECENCY}^age;</li>
 *   <li><b>the newest decide:</b> the newest {@value #TAKE_OVER} observations are fitted alone first, by least absolute
 *       deviations (a median, not a mean: one descheduled measurement, a 20 ms stall among 0.2 ms steps, barely moves
 *       it); then the whole window is fitted, leaving out what disagrees with that by more than {@value #OUTLIER}
 *       scales and weighting the rest by recency and by Huber's weights. So
 *       once {@value #TAKE_OVER} new observations have arrived, the old ones count only as far as they tell the same
 *       story, however many or however wrong they were (a cost measured while another job loaded the machine, or
 *       before the JIT compiled the kernels). A robust fit that started from the previous estimate would do the
 *       opposite: treat the new, correct observations as outliers and protect a poisoned estimate;</li>
 *   <li><b>anchored:</b> a light ridge pull towards the previous fit, so a direction the recent observations do not
 *       determine (the split of a draft's cost into a fixed part and a per-token part while every draft had the same
 *       length) keeps its last value instead of drifting;</li>
 *   <li><b>non-negative:</b> the coefficients are costs; one that would come out negative is 0.</li>
 * </ul>
 * Not thread-safe: {@link AdaptiveEstimates} calls it under its lock. With 3 features a fit is a few thousand flops.
 */
final class RecentFit {

    static final int WINDOW = 32;
    static final double RECENCY = 0.9;
    /** Observations after which the new ones outweigh all older ones: RECENCY^n = 1/2. */
    static final int TAKE_OVER = 7;
    /** Ridge weight, relative to the information the window holds in each direction. */
    static final double ANCHOR = 1e-3;
    static final int L1_ITERATIONS = 12;
    static final double HUBER = 2;
    /** Residuals beyond this many scales (against the newest observations' fit) leave the fit altogether. */
    static final double OUTLIER = 5;

    private final int features;
    private final double[][] x;
    private final double[] y;
    private int count;
    private int next;
    private final double[] beta;
    private boolean fitted;

    /** @param prior the coefficients before any observation (and the anchor of the first fit) */
    RecentFit(double... prior) {
        this.features = prior.length;
        this.x = new double[WINDOW][features];
        this.y = new double[WINDOW];
        this.beta = prior.clone();
    }

    /** Adds an observation and refits. */
    void add(double observed, double... featureValues) {
        System.arraycopy(featureValues, 0, x[next], 0, features);
        y[next] = observed;
        next = (next + 1) % WINDOW;
        count = Math.min(WINDOW, count + 1);
        refit();
        fitted = true;
    }

    /** Sets the coefficients while nothing has been observed (a prior that depends on other estimates). */
    void prior(double... coefficients) {
        if (!fitted) {
            System.arraycopy(coefficients, 0, beta, 0, features);
        }
    }

    boolean fitted() {
        return fitted;
    }

    int observations() {
        return count;
    }

    double coefficient(int i) {
        return beta[i];
    }

    double predict(double... featureValues) {
        double sum = 0;
        for (int i = 0; i < features; i++) {
            sum += beta[i] * featureValues[i];
        }
        return sum;
    }

    private void refit() {
        double[] recency = new double[count];
        double w = 1;
        // Newest first: index(0) is the newest.
        for (int k = 0; k < count; k++) {
            recency[k] = w;
            w *= RECENCY;
        }
        double[] anchor = beta.clone();
        // Stage 1: least absolute deviations over the newest observations alone, which decide what "now" is.
        int recent = Math.min(count, TAKE_OVER);
        double[] weights = new double[count];
        System.arraycopy(recency, 0, weights, 0, recent);
        double floor = 1e-3 * Math.max(medianAbsoluteY(recent), 1e-12);
        double[] current = leastAbsolute(weights, recent, anchor, floor);
        // Stage 2: every observation that agrees with stage 1 (within OUTLIER scales; the others, from another regime
        // such as a loaded machine or a stall, drop out), weighted by recency and, among them, Huber's weights: older
        // observations that tell the same story sharpen the estimate.
        double[] residuals = residuals(current);
        double scale = Math.max(1.4826 * RecentFit.median(java.util.Arrays.copyOf(residuals, recent)),
                0.02 * medianAbsoluteY(recent));
        if (scale > 0) {
            boolean[] inlier = new boolean[count];
            for (int k = 0; k < count; k++) {
                inlier[k] = residuals[k] <= OUTLIER * scale;
            }
            for (int iteration = 0; iteration < 3; iteration++) {
                for (int k = 0; k < count; k++) {
                    weights[k] = !inlier[k] ? 0
                            : recency[k] * (residuals[k] <= HUBER * scale ? 1 : HUBER * scale / residuals[k]);
                }
                current = solve(weights, anchor);
                residuals = residuals(current);
            }
        }
        System.arraycopy(current, 0, beta, 0, features);
    }

    /** Least absolute deviations by iteratively re-weighted least squares over the first {@code n} observations. */
    private double[] leastAbsolute(double[] weights, int n, double[] anchor, double floor) {
        double[] irls = weights.clone();
        double[] current = solve(irls, anchor);
        for (int iteration = 0; iteration < L1_ITERATIONS; iteration++) {
            double[] r = residuals(current);
            for (int k = 0; k < n; k++) {
                irls[k] = weights[k] / Math.max(r[k], floor);
            }
            current = solve(irls, anchor);
        }
        return current;
    }

    /** |y − β·x| of every observation, newest first. */
    private double[] residuals(double[] b) {
        double[] r = new double[count];
        for (int k = 0; k < count; k++) {
            int at = index(k);
            double v = y[at];
            for (int i = 0; i < features; i++) {
                v -= b[i] * x[at][i];
            }
            r[k] = Math.abs(v);
        }
        return r;
    }

    private double medianAbsoluteY(int n) {
        double[] v = new double[n];
        for (int k = 0; k < n; k++) {
            v[k] = Math.abs(y[index(k)]);
        }
        return RecentFit.median(v);
    }

    /**
     * Weighted least squares with a ridge towards {@code anchor} scaled to each direction's information, with every
     * coefficient kept non-negative (costs: a negative fixed part would make short drafts look free): a coefficient
     * that comes out negative is fixed at 0 and the others are solved again.
     */
    private double[] solve(double[] weights, double[] anchor) {
        boolean[] zero = new boolean[features];
        while (true) {
            double[] b = solve(weights, anchor, zero);
            boolean changed = false;
            for (int i = 0; i < features; i++) {
                if (!zero[i] && b[i] < 0) {
                    zero[i] = true;
                    changed = true;
                }
            }
            if (!changed) {
                return b;
            }
        }
    }

    private double[] solve(double[] weights, double[] anchor, boolean[] zero) {
        int f = features;
        double[][] a = new double[f][f + 1];
        for (int k = 0; k < count; k++) {
            int at = index(k);
            double wk = weights[k];
            for (int i = 0; i < f; i++) {
                for (int j = 0; j < f; j++) {
                    a[i][j] += wk * x[at][i] * x[at][j];
                }
                a[i][f] += wk * x[at][i] * y[at];
            }
        }
        for (int i = 0; i < f; i++) {
            // A direction with no information at all still gets a tiny pull, so the system is never singular.
            double ridge = ANCHOR * a[i][i] + 1e-9 * (1 + Math.abs(a[i][i]));
            a[i][i] += ridge;
            a[i][f] += ridge * anchor[i];
        }
        for (int i = 0; i < f; i++) {
            if (zero[i]) {
                // Pin the coefficient at 0: its row becomes b_i = 0, and it drops out of the other rows.
                for (int r = 0; r < f; r++) {
                    a[r][i] = 0;
                }
                java.util.Arrays.fill(a[i], 0);
                a[i][i] = 1;
            }
        }
        return gauss(a);
    }

    /** Solves the augmented system in place (partial pivoting); falls back to the anchor's values if singular. */
    private double[] gauss(double[][] a) {
        int f = features;
        for (int c = 0; c < f; c++) {
            int pivot = c;
            for (int r = c + 1; r < f; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) {
                    pivot = r;
                }
            }
            double[] t = a[c];
            a[c] = a[pivot];
            a[pivot] = t;
            if (Math.abs(a[c][c]) < 1e-300) {
                return beta.clone();
            }
            for (int r = c + 1; r < f; r++) {
                double factor = a[r][c] / a[c][c];
                for (int k = c; k <= f; k++) {
                    a[r][k] -= factor * a[c][k];
                }
            }
        }
        double[] out = new double[f];
        for (int r = f - 1; r >= 0; r--) {
            double sum = a[r][f];
            for (int k = r + 1; k < f; k++) {
                sum -= a[r][k] * out[k];
            }
            out[r] = sum / a[r][r];
        }
        for (double v : out) {
            if (!Double.isFinite(v)) {
                return beta.clone();
            }
        }
        return out;
    }

    /** The ring index of the k-th newest observation. */
    private int index(int k) {
        return Math.floorMod(next - 1 - k, WINDOW);
    }

    static double median(double[] values) {
        double[] v = values.clone();
        java.util.Arrays.sort(v);
        int n = v.length;
        if (n == 0) {
            return 0;
        }
        return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }
}
