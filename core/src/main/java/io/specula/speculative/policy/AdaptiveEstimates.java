package io.specula.speculative.policy;

/**
 * What {@link AdaptivePolicy} knows across requests, for one target/drafter pair: the costs (a property of the models
 * and the machine), acceptance by draft position (the prior every request starts from), the probe budget and the
 * typical request length. Thread-safe; the work under the lock per step is a few microseconds at most (a draft's cost
 * fit), a few hundred nanoseconds for a plain step.
 *
 * <p>Every estimate keeps being corrected by what the steps show: costs by {@link RecentFit} and {@link RecentMedian}
 * (about {@value RecentFit#TAKE_OVER} new observations outweigh any number of old ones), acceptance by decaying counts
 * in which positions not tried for a while fade back to their prior. The probe budget is counted here, across
 * requests, so a stream of short requests still re-tests a drafter that speculation has been turned off for.
 */
public final class AdaptiveEstimates {

    static final int MAX = DraftPolicy.MAX_DRAFT_TOKENS;

    /** Acceptance assumed for draft position 1 before anything is known: optimistic, so speculation gets tried. */
    static final double PRIOR_ACCEPTANCE = 0.7;
    /**
     * Pseudo-trials of a position's prior. The prior of position j is the estimate of position j−1 (a drafter that is
     * right at one position is about as right at the next), so a position never tried is estimated like the one before
     * it, never as 0.
     */
    static final double PRIOR_WEIGHT = 3;
    /**
     * Every draft decays every position's counts by this factor, tried or not (memory ~100 drafts): a position not
     * reached for a while fades back to its prior, and the policy then drafts one position deeper now and then to
     * measure it again ({@link AdaptivePolicy#MIN_EVIDENCE}).
     */
    static final double DECAY = 0.99;

    /** The probe budget: probes may cost at most this share of the adaptive requests' decoding time. */
    static final double PROBE_BUDGET = 0.01;
    /** The budget saved up at most, in nanoseconds of probe excess (bounds a burst of probes after a long quiet). */
    static final double MAX_PROBE_SAVINGS = PROBE_BUDGET * 5e9;
    static final int MIN_PROBE_INTERVAL = 4;
    static final int MAX_PROBE_INTERVAL = 256;

    /** Typical output length before any request finished; then a decaying average of finished requests. */
    static final double PRIOR_OUTPUT_TOKENS = 64;
    static final double OUTPUT_WEIGHT = 0.1;

    private final double[] acceptedWeight = new double[MAX];
    private final double[] trialWeight = new double[MAX];
    /** a_j from the counts, recomputed after every draft. */
    private double[] acceptance;

    /** Draft time = fixed + perToken·drafted + catchUp·(synced − 1). */
    private final RecentFit draftCost = new RecentFit(0, 0, 0);
    /**
     * A target pass of width w costs level × shape(w): {@code passLevel}, the cost of a 1-wide pass now, follows the
     * machine's load within a few passes of any width; {@code passShape[w − 1]}, the cost of a w-wide pass relative to
     * that, is a property of the model and the hardware and is the median of the width's last observations however
     * long ago they were made. A width is thus priced by every pass, not by its own last few: one pass measured during
     * a load burst at a width the policy then avoids (which, since no wider pass may cost less, priced every wider
     * draft out, and was re-measured only if the policy drafted that width again) is one ratio among many.
     */
    private final RecentMedian passLevel = new RecentMedian();
    /**
     * Observations a width's shape needs before it counts; until then the cost model interpolates the width from its
     * neighbours. A median of three is not moved by one stalled pass; a single observation would be taken at face value.
     */
    static final int MIN_SHAPE_OBSERVATIONS = 3;
    private final RecentMedian[] passShape = new RecentMedian[MAX + 1];
    private long passes;
    private CostModel costs;
    /** Observations since the cost model was last rebuilt. */
    private int unbuilt;
    static final int REBUILD_EVERY = 8;

    private final long[] histogram = new long[MAX + 1];
    private long steps;
    private long plainSteps;
    private long probes;
    private long successfulProbes;
    private int plainSinceProbe;
    private int probeInterval = MIN_PROBE_INTERVAL;
    /** Budget minus what probes cost beyond plain steps (a probe whose token was accepted may pay for itself). */
    private double probeSavings;
    private double outputTokens = PRIOR_OUTPUT_TOKENS;
    private long requests;
    private int largestMaxDraft = DraftPolicy.DEFAULT_DRAFT_TOKENS;

    public AdaptiveEstimates() {
        for (int i = 0; i < passShape.length; i++) {
            passShape[i] = new RecentMedian(Double.POSITIVE_INFINITY);
        }
        costs = CostModel.unknown(MAX + 1);
        acceptance = chainAcceptance();
    }

    /** The current cost estimates. */
    public synchronized CostModel costs() {
        return costs;
    }

    /**
     * a_j, the estimated probability that draft position j is accepted given the earlier ones were (index j−1): counts
     * of recent drafts over a prior chained from position to position.
     */
    public synchronized double[] acceptance() {
        return acceptance.clone();
    }

    /** The same, not copied: for the policy, which only reads it (recomputed, never changed in place, on drafts). */
    synchronized double[] acceptanceView() {
        return acceptance;
    }

    private double[] chainAcceptance() {
        double[] a = new double[MAX];
        double prior = PRIOR_ACCEPTANCE;
        for (int i = 0; i < MAX; i++) {
            a[i] = (acceptedWeight[i] + PRIOR_WEIGHT * prior) / (trialWeight[i] + PRIOR_WEIGHT);
            prior = a[i];
        }
        return a;
    }

    /** The recent trials behind the acceptance estimate of draft position {@code index + 1} (decayed counts). */
    synchronized double evidence(int index) {
        return index < MAX ? trialWeight[index] : 0;
    }

    /** Expected tokens a request still produces, at most {@code remaining}: the typical output length. */
    synchronized double horizon(int remaining) {
        return Math.max(1, Math.min(remaining, outputTokens));
    }

    /**
     * A plain step is about to be taken: returns true when it should be a probe instead (a one-token draft), which is
     * when {@code probeInterval} plain steps went by since the last draft, across requests, and the probe budget is not
     * overspent.
     */
    synchronized boolean plainOrProbe() {
        steps++;
        plainSinceProbe++;
        if (plainSinceProbe >= probeInterval && probeSavings >= 0) {
            plainSinceProbe = 0;
            probes++;
            histogram[1]++;
            return true;
        }
        plainSteps++;
        histogram[0]++;
        return false;
    }

    synchronized void recordDraftDecision(int draftLength, int maxDraftTokens) {
        steps++;
        histogram[Math.min(draftLength, MAX)]++;
        plainSinceProbe = 0;
        largestMaxDraft = Math.max(largestMaxDraft, maxDraftTokens);
    }

    /** Learns from one step of an adaptive request; {@code probe}: the step was a probe. */
    synchronized void record(StepOutcome o, boolean probe) {
        double plainStep = costs.plainStep();
        int width = o.drafted() + 1;
        passes++;
        if (width <= passShape.length && o.verifyNanos() > 0) {
            double level = passLevel.value();
            if (width > 1 && !Double.isNaN(level)) {
                passShape[width - 1].add(o.verifyNanos() / level, passes);
            }
            passLevel.add(o.verifyNanos() / shape(width), passes);
        }
        if (o.drafted() > 0) {
            if (!draftCost.fitted()) {
                // The fit starts from the priors, in this machine's nanoseconds.
                CostModel known = rebuild();
                draftCost.prior(0, known.draft(1), known.catchUp(2));
            }
            draftCost.add(o.draftNanos(), 1, o.drafted(), Math.max(0, o.syncedTokens() - 1));
            recordAcceptance(o.drafted(), o.accepted());
        }
        probeSavings = Math.min(MAX_PROBE_SAVINGS, probeSavings + PROBE_BUDGET * o.nanos());
        unbuilt++;
        if (probe) {
            // What the probe cost beyond the plain steps its tokens would otherwise have taken (negative: it paid).
            probeSavings -= o.nanos() - (o.accepted() + 1) * plainStep;
            if (o.drafted() > 0 && o.accepted() > 0) {
                successfulProbes++;
                probeInterval = MIN_PROBE_INTERVAL;
            } else if (o.drafted() > 0) {
                probeInterval = Math.min(MAX_PROBE_INTERVAL, probeInterval * 2);
            }
        }
        // A plain step moves one median by a little: rebuilding the cost model after every 8th is plenty, and keeps a
        // plain step's bookkeeping well under a microsecond (a tiny target decodes a token in 0.2 ms).
        if (o.drafted() > 0 || probe || unbuilt >= REBUILD_EVERY || passes <= REBUILD_EVERY) {
            costs = rebuild();
            unbuilt = 0;
        }
    }

    /** Positions 1..min(drafted, accepted+1) were verified; the first {@code accepted} of them accepted. */
    private void recordAcceptance(int drafted, int accepted) {
        int verified = Math.min(drafted, accepted + 1);
        for (int i = 0; i < MAX; i++) {
            acceptedWeight[i] *= DECAY;
            trialWeight[i] *= DECAY;
            if (i < verified) {
                acceptedWeight[i] += i < accepted ? 1 : 0;
                trialWeight[i] += 1;
            }
        }
        acceptance = chainAcceptance();
    }

    synchronized void recordRequest(int generatedTokens) {
        requests++;
        outputTokens += (requests == 1 ? 0.5 : OUTPUT_WEIGHT) * (generatedTokens - outputTokens);
    }

    /** A pass of this width relative to a 1-wide one: measured, or as the cost model interpolates it. */
    private double shape(int width) {
        if (width == 1) {
            return 1;
        }
        return shapeKnown(width) ? passShape[width - 1].value() : costs.verify(width) / costs.verify(1);
    }

    private boolean shapeKnown(int width) {
        return passShape[width - 1].observations() >= MIN_SHAPE_OBSERVATIONS;
    }

    /** The cost of a pass by width now (index w − 1), NaN for widths never measured. */
    private double[] passCosts() {
        double level = passLevel.value();
        double[] verify = new double[MAX + 1];
        for (int i = 0; i < verify.length; i++) {
            verify[i] = i == 0 ? level : shapeKnown(i + 1) ? level * passShape[i].value() : Double.NaN;
        }
        return verify;
    }

    private CostModel rebuild() {
        double[] verify = passCosts();
        if (!draftCost.fitted()) {
            return new CostModel(Double.NaN, Double.NaN, Double.NaN, verify);
        }
        return new CostModel(draftCost.coefficient(0), draftCost.coefficient(1), draftCost.coefficient(2), verify);
    }

    public synchronized AdaptiveSnapshot snapshot() {
        double[] evidence = trialWeight.clone();
        double[] verify = passCosts();
        for (int i = 0; i < verify.length; i++) {
            verify[i] = Double.isNaN(verify[i]) ? 0 : verify[i];
        }
        double[] acceptance = this.acceptance.clone();
        CostModel c = costs;
        return new AdaptiveSnapshot(steps, plainSteps, probes, successfulProbes, histogram, acceptance, evidence,
                draftCost.fitted() ? c.draftFixed() : 0, draftCost.fitted() ? c.draftPerToken() : 0,
                draftCost.fitted() ? c.catchUpPerToken() : 0, verify, probeInterval, plainSinceProbe,
                probeSavings >= 0, outputTokens,
                AdaptiveSnapshot.Outlook.of(acceptance, c, Math.min(largestMaxDraft, MAX), draftCost.fitted(),
                        probeInterval));
    }
}
