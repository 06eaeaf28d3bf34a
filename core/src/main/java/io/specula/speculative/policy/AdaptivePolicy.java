package io.specula.speculative.policy;

import java.util.function.IntToDoubleFunction;

/**
 * The default policy: chooses γ to maximise expected output tokens per unit of time, so that speculation is never
 * (for long) slower than the target alone — the complaint of vLLM #8439, #15025 and llama.cpp #12968, where a poor or
 * costly drafter slows every request and nothing turns it off.
 *
 * <p>With a_j the probability that draft position j is accepted given the earlier ones were, c_d the cost of a drafter
 * step and c_v(w) the cost of a target pass scoring w positions:
 * <pre>
 *   E[tokens](γ) = 1 + Σ_{i=1..γ} Π_{j≤i} a_j          cost(γ) = γ·c_d + c_v(γ+1)
 * </pre>
 * and γ = argmax E/cost over 0..limit, where γ = 0 is a plain step (1 token for c_v(1)). a_j is learned per request
 * (decaying counts, so it follows the text: prompt lookup shines in quoted passages and fails elsewhere), seeded from
 * the engine-wide {@link AdaptiveEstimates}; costs are learned engine-wide.
 *
 * <p>While γ = 0 nothing is learned about the drafter, so the policy probes: a one-token draft after N plain steps,
 * N doubling (up to {@value #MAX_PROBE_INTERVAL}) while probes are rejected and back to {@value #MIN_PROBE_INTERVAL}
 * when one is accepted, and only while the extra time probes cost (beyond what their tokens would have cost as plain
 * steps) stays under {@value #PROBE_BUDGET} of the request's decoding time.
 */
public final class AdaptivePolicy implements DraftLengthPolicy {

    /** Per-request acceptance counts decay by this factor per trial (memory of ~10 steps per position). */
    static final double REQUEST_DECAY = 0.9;
    /** At most this many trials per position are taken over from the engine-wide estimate. */
    static final double SEED_WEIGHT = 8;
    /** Acceptance assumed for position 1 before anything is known: optimistic, so speculation gets tried. */
    static final double PRIOR_ACCEPTANCE = 0.7;
    /** Pseudo-trials of the prior (position j's prior is the estimate of position j−1). */
    static final double PRIOR_WEIGHT = 1;
    static final int MIN_PROBE_INTERVAL = 4;
    static final int MAX_PROBE_INTERVAL = 256;
    static final double PROBE_BUDGET = 0.03;

    private final AdaptiveEstimates estimates;
    private final int maxDraftTokens;
    private final double[] acceptedWeight = new double[AdaptiveEstimates.MAX];
    private final double[] trialWeight = new double[AdaptiveEstimates.MAX];

    private int plainSinceProbe;
    private int probeInterval = MIN_PROBE_INTERVAL;
    private boolean probing;
    private double plainStepCost;
    private long decodeNanos;
    private double probeExcessNanos;

    public AdaptivePolicy(AdaptiveEstimates estimates, int maxDraftTokens) {
        this.estimates = estimates;
        this.maxDraftTokens = DraftPolicy.checkedDraftTokens(maxDraftTokens);
        estimates.seed(acceptedWeight, trialWeight, SEED_WEIGHT);
    }

    @Override
    public int maxDraftTokens() {
        return maxDraftTokens;
    }

    @Override
    public String name() {
        return "adaptive";
    }

    @Override
    public int nextDraftLength(int limit) {
        probing = false;
        limit = Math.min(limit, maxDraftTokens);
        if (limit <= 0) {
            // Forced plain step (token limit or context end): not a decision, not recorded.
            return 0;
        }
        CostModel costs = estimates.costs();
        plainStepCost = costs.verify(1);
        int best = bestDraftLength(acceptance(), costs.draft(), costs::verify, limit);
        if (best > 0) {
            plainSinceProbe = 0;
            estimates.recordDecision(best, false);
            return best;
        }
        plainSinceProbe++;
        // What a probe is expected to cost beyond a plain step. Each estimate is capped at one plain step: a drafter
        // step or the second position of a pass cannot really cost more than the whole target step, and an estimate
        // that says so was taken on cold code (JIT warm-up, a concurrent burst). Without the cap such an estimate
        // would forbid the probes that are the only way to correct it.
        double plain = costs.verify(1);
        double expectedExcess = Math.min(costs.draft(), plain) + Math.min(Math.max(0, costs.verify(2) - plain), plain);
        if (plainSinceProbe >= probeInterval && probeExcessNanos + expectedExcess <= PROBE_BUDGET * decodeNanos) {
            plainSinceProbe = 0;
            probing = true;
            estimates.recordDecision(1, true);
            return 1;
        }
        estimates.recordDecision(0, false);
        return 0;
    }

    @Override
    public void observe(StepOutcome o) {
        decodeNanos += o.draftNanos() + o.verifyNanos();
        estimates.recordVerifyCost(o.drafted() + 1, o.verifyNanos());
        if (o.drafted() > 0) {
            // A drafter that had to catch up on many tokens (after plain steps) did a small prefill: that time says
            // little about its per-token cost.
            if (o.syncedTokens() <= 2) {
                estimates.recordDraftCost(o.draftNanos(), o.drafted());
            }
            int verified = Math.min(o.drafted(), o.accepted() + 1);
            for (int i = 0; i < verified; i++) {
                acceptedWeight[i] = acceptedWeight[i] * REQUEST_DECAY + (i < o.accepted() ? 1 : 0);
                trialWeight[i] = trialWeight[i] * REQUEST_DECAY + 1;
            }
            estimates.recordAcceptance(o.drafted(), o.accepted());
        }
        if (probing) {
            probing = false;
            double excess = o.draftNanos() + o.verifyNanos() - (o.accepted() + 1) * plainStepCost;
            probeExcessNanos += Math.max(0, excess);
            if (o.drafted() > 0 && o.accepted() > 0) {
                probeInterval = MIN_PROBE_INTERVAL;
                estimates.recordProbeSuccess();
            } else if (o.drafted() > 0) {
                probeInterval = Math.min(MAX_PROBE_INTERVAL, probeInterval * 2);
            }
        }
    }

    /** This request's current estimate of a_j (index j−1). */
    public double[] acceptance() {
        double[] a = new double[maxDraftTokens];
        double prior = PRIOR_ACCEPTANCE;
        for (int i = 0; i < a.length; i++) {
            a[i] = (acceptedWeight[i] + PRIOR_WEIGHT * prior) / (trialWeight[i] + PRIOR_WEIGHT);
            prior = a[i];
        }
        return a;
    }

    /**
     * The draft length in 0..limit with the most expected tokens per unit of time (ties go to the shorter draft).
     *
     * @param acceptance  a_j at index j−1 (at least {@code limit} entries)
     * @param draftCost   cost of one drafter step
     * @param verifyCost  cost of a target pass by width
     */
    public static int bestDraftLength(double[] acceptance, double draftCost, IntToDoubleFunction verifyCost,
                                      int limit) {
        int best = 0;
        double bestRate = 1 / verifyCost.applyAsDouble(1);
        double expected = 1;
        double reach = 1;
        for (int g = 1; g <= limit; g++) {
            reach *= acceptance[g - 1];
            expected += reach;
            double rate = expected / (g * draftCost + verifyCost.applyAsDouble(g + 1));
            if (rate > bestRate * (1 + 1e-9)) {
                bestRate = rate;
                best = g;
            }
        }
        return best;
    }
}
