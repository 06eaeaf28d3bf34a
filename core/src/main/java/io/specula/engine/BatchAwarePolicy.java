package io.specula.engine;

import io.specula.speculative.drafter.DraftGate;
import io.specula.speculative.policy.CostModel;
import io.specula.speculative.policy.DraftLengthPolicy;
import io.specula.speculative.policy.StepContext;
import io.specula.speculative.policy.StepOutcome;

import java.util.function.IntSupplier;
import java.util.function.IntToDoubleFunction;
import java.util.function.Supplier;

/**
 * The adaptive draft policy with the batch in view. Alone, a request's extra draft positions cost what its own pass
 * costs more for them; in a shared pass they cost what the whole pass costs more, and every request in it waits for
 * them. The scheduler keeps the running requests in step (they draft together in the drafter's shared passes, then
 * verify together in one target pass: {@link BatchScheduler}), so before the request's own policy decides, its limit
 * is capped at the draft length g that maximises the batch's expected tokens per unit of time when each of the N
 * running requests drafts g:
 *
 * <pre>
 *   cap = argmax_g  N·E[tokens](g) / (C(N·(g+1)) + D(g))          E[tokens](g) = 1 + Σ_{i≤g} Π_{j≤i} a_j
 *   D(g) = g = 0 ? 0 : Cd(2N) + (g−1)·Cd(N)
 * </pre>
 *
 * where C is the target's measured pass cost by width (positions in the shared pass, {@link BatchStatistics}), D the
 * drafting: g drafter passes over the N requests, the first catching up on the one or two tokens the last step added
 * (Cd: the drafter's measured pass cost by width; a fifth of the target's where not yet measured; none for a drafter
 * without passes, such as n-gram), and a_j the engine-wide acceptance by position. On a CPU, where C grows steeply
 * once a pass is compute-bound, drafting shrinks as the batch fills, down to none (plain decoding in shared passes,
 * so speculation costs nothing at a full batch) and grows back when a request is alone (no cap then).
 */
final class BatchAwarePolicy implements DraftLengthPolicy {

    /** Acceptance assumed for a position never measured (the adaptive policy's optimistic prior). */
    static final double PRIOR_ACCEPTANCE = 0.7;

    /**
     * What the cap reads each step.
     *
     * @param running           requests sharing passes now, this one included
     * @param targetCostByWidth the target's measured pass cost by width (index w−1), NaN where unmeasured
     * @param drafterCostByWidth the same for the drafter's passes; null when the drafter has none (n-gram)
     */
    record BatchView(IntSupplier running, Supplier<double[]> targetCostByWidth, Supplier<double[]> drafterCostByWidth) {
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
            CostModel target = CostModel.of(Double.NaN, batch.targetCostByWidth().get());
            IntToDoubleFunction drafter = drafterCost(target);
            limit = Math.min(limit, cap(running, acceptance(), target::verify, drafter, limit));
        }
        return policy.nextDraftLength(new StepContext(limit, step.backlog(), step.remainingTokens()));
    }

    /** The drafter's pass cost by width: measured, or a fifth of the target's until it is; none without passes. */
    private IntToDoubleFunction drafterCost(CostModel target) {
        double[] measured = batch.drafterCostByWidth() == null ? null : batch.drafterCostByWidth().get();
        if (measured == null) {
            return w -> 0;
        }
        for (double v : measured) {
            if (!Double.isNaN(v)) {
                return CostModel.of(Double.NaN, measured)::verify;
            }
        }
        return w -> CostModel.PRIOR_DRAFT_RATIO * target.verify(w);
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
     * The draft length in 0..limit that maximises the batch's expected tokens per unit of time when each of
     * {@code requests} requests drafts that many (ties go to the shorter draft); {@code limit} for a request alone.
     *
     * @param targetPass  a target pass's cost by its width in positions
     * @param drafterPass a drafter pass's cost by its width in positions
     */
    static int cap(int requests, double[] acceptance, IntToDoubleFunction targetPass, IntToDoubleFunction drafterPass,
                   int limit) {
        if (requests <= 1) {
            return limit;
        }
        int best = 0;
        double bestRate = requests / targetPass.applyAsDouble(requests);
        for (int g = 1; g <= limit; g++) {
            double drafting = drafterPass.applyAsDouble(2 * requests) + (g - 1) * drafterPass.applyAsDouble(requests);
            double rate = requests * expectedTokens(acceptance, g)
                    / (targetPass.applyAsDouble(requests * (g + 1)) + drafting);
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
