package io.specula.speculative.policy;

import java.util.function.IntToDoubleFunction;

/**
 * The default policy: chooses γ to maximise expected output tokens per unit of time, counting every cost speculation
 * adds to a request, so that speculation is never (for long) slower than the target alone — the complaint of vLLM
 * #8439, #15025 and llama.cpp #12968, where a poor or costly drafter slows every request and nothing turns it off.
 *
 * <p>With a_j the probability that draft position j is accepted given the earlier ones were, d(γ) the cost of a draft
 * of γ tokens (a fixed part plus a part per token) and v(w) the cost of a target pass scoring w positions:
 * <pre>
 *   E[tokens](γ) = 1 + Σ_{i=1..γ} Π_{j≤i} a_j          cost(γ) = d(γ) + v(γ+1)
 * </pre>
 * and γ = argmax E/cost over 0..limit, where γ = 0 is a plain step (1 token for v(1)). When the drafter has a backlog
 * (the prompt, before a request's first draft: the drafter is not even prefilled until a draft is worth trying; the
 * tokens of plain steps since its last draft), drafting also pays the catch-up, and does so only if the time the drafts
 * are expected to save over the rest of the request (its token limit, at most the typical output length) covers it.
 *
 * <p>a_j is this request's, learned from its drafts (counts decaying by {@value #REQUEST_DECAY} per trial, so it
 * follows the text: prompt lookup shines in quoted passages and fails elsewhere) over a prior of
 * {@value #ENGINE_WEIGHT} trials of the engine-wide estimate ({@link AdaptiveEstimates#acceptance}), in which a
 * position never tried is estimated like the one before it. The position just past the chosen draft is kept measured
 * (a draft one token longer when its evidence runs low, {@link #MIN_EVIDENCE}), so a position estimated too low is
 * found out. Costs are learned engine-wide and keep being corrected.
 *
 * <p>While γ = 0 nothing is learned about the drafter, so the engine probes: a one-token draft after
 * {@link AdaptiveEstimates#MIN_PROBE_INTERVAL} plain steps across requests, the interval doubling (up to
 * {@link AdaptiveEstimates#MAX_PROBE_INTERVAL}) while probes are rejected and back to the minimum when one is accepted,
 * and only while what probes cost beyond plain steps stays within {@link AdaptiveEstimates#PROBE_BUDGET} of the
 * decoding time. A probe measures the drafter's cost too (its catch-up included), so an estimate taken while the
 * machine was loaded is corrected within a few probes.
 */
public final class AdaptivePolicy implements DraftLengthPolicy {

    /** Per-request acceptance counts decay by this factor per trial (memory of ~20 steps per position). */
    static final double REQUEST_DECAY = 0.95;
    /** Pseudo-trials of the engine-wide estimate in a request's own (its prior). */
    static final double ENGINE_WEIGHT = 2;
    /** Steady state: a draft catches up on the last token, or the last draft and the bonus token. */
    static final int STEADY_BACKLOG = 2;
    /**
     * The position after the chosen draft needs this many recent trials (engine-wide, decayed), or the draft is made one
     * token longer to measure it: an estimate that is never tested cannot be corrected, and a position estimated too
     * low would otherwise never be drafted again. It costs a drafted token and a pass position now and then.
     */
    static final double MIN_EVIDENCE = 4;

    private final AdaptiveEstimates estimates;
    private final int maxDraftTokens;
    private final double[] acceptedWeight = new double[AdaptiveEstimates.MAX];
    private final double[] trialWeight = new double[AdaptiveEstimates.MAX];
    private boolean probing;

    public AdaptivePolicy(AdaptiveEstimates estimates, int maxDraftTokens) {
        this.estimates = estimates;
        this.maxDraftTokens = DraftPolicy.checkedDraftTokens(maxDraftTokens);
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
    public int nextDraftLength(StepContext step) {
        probing = false;
        int limit = Math.min(step.limit(), maxDraftTokens);
        if (limit <= 0) {
            // Forced plain step (token limit or context end): not a decision, not recorded.
            return 0;
        }
        CostModel costs = estimates.costs();
        double[] a = acceptance();
        int best = bestDraftLength(a, costs::draft, costs::verify, limit);
        if (best > 0 && step.backlog() > STEADY_BACKLOG && !catchUpPays(a, costs, best, step)) {
            best = 0;
        }
        if (best > 0 && best < limit && estimates.evidence(best) < MIN_EVIDENCE) {
            best++;
        }
        if (best > 0) {
            estimates.recordDraftDecision(best, maxDraftTokens);
            return best;
        }
        if (estimates.plainOrProbe()) {
            probing = true;
            return 1;
        }
        return 0;
    }

    /** Whether drafting from now on saves more than catching the drafter up on its backlog costs. */
    private boolean catchUpPays(double[] a, CostModel costs, int gamma, StepContext step) {
        double perTokenPlain = costs.plainStep();
        double perTokenSpeculative = costs.step(gamma) / expectedTokens(a, gamma);
        double saved = estimates.horizon(step.remainingTokens()) * (perTokenPlain - perTokenSpeculative);
        return saved > costs.catchUp(step.backlog());
    }

    @Override
    public void observe(StepOutcome o) {
        estimates.record(o, probing);
        probing = false;
        if (o.drafted() > 0) {
            int verified = Math.min(o.drafted(), o.accepted() + 1);
            for (int i = 0; i < verified; i++) {
                acceptedWeight[i] = acceptedWeight[i] * REQUEST_DECAY + (i < o.accepted() ? 1 : 0);
                trialWeight[i] = trialWeight[i] * REQUEST_DECAY + 1;
            }
        }
    }

    @Override
    public void finish(int generatedTokens) {
        estimates.recordRequest(generatedTokens);
    }

    /** This request's current estimate of a_j (index j−1). */
    public double[] acceptance() {
        double[] prior = estimates.acceptanceView();
        double[] a = new double[maxDraftTokens];
        for (int i = 0; i < a.length; i++) {
            a[i] = (acceptedWeight[i] + ENGINE_WEIGHT * prior[i]) / (trialWeight[i] + ENGINE_WEIGHT);
        }
        return a;
    }

    /** 1 + Σ_{i≤γ} Π_{j≤i} a_j: the tokens a step drafting γ is expected to produce. */
    public static double expectedTokens(double[] acceptance, int gamma) {
        double expected = 1;
        double reach = 1;
        for (int g = 1; g <= gamma; g++) {
            reach *= acceptance[g - 1];
            expected += reach;
        }
        return expected;
    }

    /**
     * The draft length in 0..limit with the most expected tokens per unit of time (ties go to the shorter draft).
     *
     * @param acceptance  a_j at index j−1 (at least {@code limit} entries)
     * @param draftCost   cost of a draft by its length
     * @param verifyCost  cost of a target pass by its width
     */
    public static int bestDraftLength(double[] acceptance, IntToDoubleFunction draftCost,
                                      IntToDoubleFunction verifyCost, int limit) {
        int best = 0;
        double bestRate = 1 / verifyCost.applyAsDouble(1);
        double expected = 1;
        double reach = 1;
        for (int g = 1; g <= limit; g++) {
            reach *= acceptance[g - 1];
            expected += reach;
            double rate = expected / (draftCost.applyAsDouble(g) + verifyCost.applyAsDouble(g + 1));
            if (rate > bestRate * (1 + 1e-9)) {
                bestRate = rate;
                best = g;
            }
        }
        return best;
    }
}
