package io.specula.speculative.policy;


import java.util.Arrays;

/**
 * What {@link AdaptivePolicy} knows across requests, for one target/drafter pair: the costs (a property of the models
 * and the machine, so learned engine-wide) and a slowly decaying acceptance-by-position estimate that seeds every new
 * request. Thread-safe; the per-step work under the lock is a few dozen arithmetic operations.
 */
public final class AdaptiveEstimates {

    static final int MAX = DraftPolicy.MAX_DRAFT_TOKENS;

    /** Per verified position: global acceptance counts decay by this factor per trial (memory ~200 trials). */
    static final double GLOBAL_DECAY = 0.995;

    /** Cost averages: the first measurements are averaged plainly, later ones with this weight. */
    static final double COST_WEIGHT = 0.1;

    private final double[] acceptedWeight = new double[MAX];
    private final double[] trialWeight = new double[MAX];
    private double draftNanos = Double.NaN;
    private long draftSamples;
    private final double[] verifyNanos = new double[MAX + 1];
    private final long[] verifySamples = new long[MAX + 1];
    private final long[] histogram = new long[MAX + 1];
    private long steps;
    private long plainSteps;
    private long probes;
    private long successfulProbes;

    public AdaptiveEstimates() {
        Arrays.fill(verifyNanos, Double.NaN);
    }

    /** The current cost estimates. */
    public synchronized CostModel costs() {
        return new CostModel(draftNanos, verifyNanos);
    }

    /**
     * Seeds a request's acceptance counts: the global ones, scaled down to at most {@code weight} trials per position
     * so the request's own observations soon dominate.
     */
    synchronized void seed(double[] accepted, double[] trials, double weight) {
        for (int i = 0; i < MAX; i++) {
            double scale = trialWeight[i] > weight ? weight / trialWeight[i] : 1;
            accepted[i] = acceptedWeight[i] * scale;
            trials[i] = trialWeight[i] * scale;
        }
    }

    /** Positions 1..min(drafted, accepted+1) were verified; the first {@code accepted} of them accepted. */
    synchronized void recordAcceptance(int drafted, int accepted) {
        int verified = Math.min(drafted, accepted + 1);
        for (int i = 0; i < verified; i++) {
            acceptedWeight[i] = acceptedWeight[i] * GLOBAL_DECAY + (i < accepted ? 1 : 0);
            trialWeight[i] = trialWeight[i] * GLOBAL_DECAY + 1;
        }
    }

    synchronized void recordDraftCost(long nanos, int tokens) {
        double perToken = (double) nanos / tokens;
        draftSamples++;
        draftNanos = average(draftNanos, perToken, draftSamples);
    }

    synchronized void recordVerifyCost(int width, long nanos) {
        if (width < 1 || width > MAX + 1) {
            return;
        }
        long n = ++verifySamples[width - 1];
        verifyNanos[width - 1] = average(verifyNanos[width - 1], nanos, n);
    }

    private static double average(double current, double sample, long samples) {
        if (Double.isNaN(current)) {
            return sample;
        }
        double weight = Math.max(COST_WEIGHT, 1.0 / samples);
        return current + weight * (sample - current);
    }

    synchronized void recordDecision(int draftLength, boolean probe) {
        steps++;
        histogram[Math.min(draftLength, MAX)]++;
        if (probe) {
            probes++;
        } else if (draftLength == 0) {
            plainSteps++;
        }
    }

    synchronized void recordProbeSuccess() {
        successfulProbes++;
    }

    public synchronized AdaptiveSnapshot snapshot() {
        double[] acceptance = new double[MAX];
        for (int i = 0; i < MAX; i++) {
            acceptance[i] = trialWeight[i] > 0 ? acceptedWeight[i] / trialWeight[i] : 0;
        }
        double[] verify = verifyNanos.clone();
        for (int i = 0; i < verify.length; i++) {
            if (Double.isNaN(verify[i])) {
                verify[i] = 0;
            }
        }
        return new AdaptiveSnapshot(steps, plainSteps, probes, successfulProbes, histogram, acceptance,
                Double.isNaN(draftNanos) ? 0 : draftNanos, verify);
    }
}
