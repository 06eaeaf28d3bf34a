package io.specula.engine;

import io.specula.speculative.drafter.DraftGate;
import io.specula.speculative.policy.CostModel;
import io.specula.speculative.policy.DraftLengthPolicy;
import io.specula.speculative.policy.StepContext;
import io.specula.speculative.policy.StepOutcome;

import java.util.function.DoubleSupplier;
import java.util.function.IntSupplier;
import java.util.function.IntToDoubleFunction;
import java.util.function.Supplier;

/**
 * The adaptive draft policy with the batch in view. Alone, a request's extra draft positions cost what its own pass
 * costs more for them; in a shared pass they cost what the whole pass costs more, and every request in it waits for
 * them. So before the request's own policy decides, its limit is capped at the draft length that maximises the
 * batch's expected tokens per unit of pass time:
 *
 * <pre>
 *   cap = argmax_g  (T_others + E[tokens](g)) / C(W_others + g + 1)         E[tokens](g) = 1 + Σ_{i≤g} Π_{j≤i} a_j
 * </pre>
 *
 * where C is the target's measured pass cost by width (positions in the shared pass, {@link BatchStatistics}), the
 * others' width and tokens per step come from the running requests and their mean positions per pass, and a_j is the
 * engine-wide acceptance by position. On a CPU, where C grows steeply once a pass is compute-bound, drafting shrinks
 * as the batch fills and grows back when a request is alone (no cap then). The drafter's own cost is left to the
 * request's policy.
 */
final class BatchAwarePolicy implements DraftLengthPolicy {

    /** Acceptance assumed for a position never measured (the adaptive policy's optimistic prior). */
    static final double PRIOR_ACCEPTANCE = 0.7;

    /**
     * What the cap reads each step.
     *
     * @param running             requests sharing passes now, this one included
     * @param positionsPerRequest mean positions a request puts in a target pass (1 plain, γ+1 verifying)
     * @param passCostByWidth     the target's measured pass cost by width (index w−1), NaN where unmeasured
     */
    record BatchView(IntSupplier running, DoubleSupplier positionsPerRequest, Supplier<double[]> passCostByWidth) {
    }

    private final DraftLengthPolicy policy;
    private final BatchView batch;
    private final Supplier<double[]> acceptance;
    private final Supplier<CostModel> aloneCosts;
    private boolean batchedStep;

    /**
     * @param acceptance the engine-wide acceptance by position (index i: position i+1)
     * @param aloneCosts the engine-wide costs of a request's own passes, which the request's policy learns from
     */
    BatchAwarePolicy(DraftLengthPolicy policy, BatchView batch, Supplier<double[]> acceptance,
                     Supplier<CostModel> aloneCosts) {
        this.policy = policy;
        this.batch = batch;
        this.acceptance = acceptance;
        this.aloneCosts = aloneCosts;
    }

    @Override
    public int maxDraftTokens() {
        return policy.maxDraftTokens();
    }

    @Override
    public int nextDraftLength(StepContext step) {
        int limit = step.limit();
        int running = batch.running().getAsInt();
        batchedStep = running > 1;
        if (running > 1 && limit > 0) {
            CostModel costs = CostModel.of(Double.NaN, batch.passCostByWidth().get());
            limit = Math.min(limit, cap(running - 1, batch.positionsPerRequest().getAsDouble(), acceptance(), costs::verify, limit));
        }
        return policy.nextDraftLength(new StepContext(limit, step.backlog(), step.remainingTokens()));
    }

    private double[] acceptance() {
        double[] measured = acceptance.get();
        double[] a = new double[Math.max(measured.length, maxDraftTokens())];
        for (int i = 0; i < a.length; i++) {
            a[i] = i < measured.length && measured[i] > 0 ? measured[i] : PRIOR_ACCEPTANCE;
        }
        return a;
    }

    /**
     * The draft length in 0..limit that maximises the batch's expected tokens per unit of pass time, with
     * {@code others} requests beside this one, each putting {@code othersWidth} positions in the pass on average
     * (ties go to the shorter draft).
     */
    static int cap(int others, double othersWidth, double[] acceptance, IntToDoubleFunction passCost, int limit) {
        if (others <= 0) {
            return limit;
        }
        int width = (int) Math.round(others * Math.max(1, othersWidth));
        double othersTokens = others * expectedTokens(acceptance, (int) Math.round(Math.max(1, othersWidth)) - 1);
        int best = 0;
        double bestRate = (othersTokens + 1) / passCost.applyAsDouble(width + 1);
        for (int g = 1; g <= limit; g++) {
            double rate = (othersTokens + expectedTokens(acceptance, g)) / passCost.applyAsDouble(width + g + 1);
            if (rate > bestRate * (1 + 1e-9)) {
                bestRate = rate;
                best = g;
            }
        }
        return best;
    }

    static double expectedTokens(double[] acceptance, int gamma) {
        double expected = 1;
        double reach = 1;
        for (int i = 0; i < gamma && i < acceptance.length; i++) {
            reach *= acceptance[i];
            expected += reach;
        }
        return expected;
    }

    @Override
    public DraftGate gate() {
        return policy.gate();
    }

    /**
     * Passes the step on to the request's policy. A step taken in a shared pass took the whole pass's time (and the
     * wait for it), which says nothing about what the request's own pass costs: the policy hears its acceptance with
     * the costs it already estimates for a pass of its own, so its engine-wide cost estimates stay those of requests
     * alone (the cap above reads the shared passes' costs).
     */
    @Override
    public void observe(StepOutcome o) {
        if (batchedStep) {
            CostModel alone = aloneCosts.get();
            long draftNanos = o.drafted() > 0 ? Math.round(alone.draft(o.drafted()) + alone.catchUp(o.syncedTokens())) : 0;
            o = new StepOutcome(o.requested(), o.drafted(), o.accepted(), o.syncedTokens(), draftNanos,
                    Math.round(alone.verify(o.drafted() + 1)));
        }
        policy.observe(o);
    }

    @Override
    public String name() {
        return policy.name();
    }
}
