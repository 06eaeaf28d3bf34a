package io.specula.engine;

import io.specula.speculative.policy.CostModel;
import io.specula.speculative.policy.DraftLengthPolicy;
import io.specula.speculative.policy.StepContext;
import io.specula.speculative.policy.StepOutcome;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.function.IntToDoubleFunction;

import static org.assertj.core.api.Assertions.assertThat;

/** The draft length cap with the batch in view: drafting shrinks as a compute-bound batch fills, not when alone. */
class BatchAwarePolicyTest {

    static final double[] ACCEPTANCE = {0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8};

    /** A CPU-like pass: memory-bound (flat) up to 8 positions, then each position costs 0.25 of a 1-wide pass. */
    static final IntToDoubleFunction CPU = w -> 1 + 0.25 * Math.max(0, w - 8);

    /** A pass that costs the same at every width (weights read once, arithmetic free). */
    static final IntToDoubleFunction FLAT = w -> 1;

    /** A drafter without passes of its own (n-gram). */
    static final IntToDoubleFunction FREE = w -> 0;

    @Test
    void aloneTheCapIsTheLimit() {
        assertThat(BatchAwarePolicy.cap(1, ACCEPTANCE, CPU, FREE, 4)).isEqualTo(4);
    }

    @Test
    void draftingShrinksAsTheBatchFillsAndStaysWhenPassesAreFlat() {
        int[] caps = new int[8];
        for (int requests = 2; requests <= 9; requests++) {
            caps[requests - 2] = BatchAwarePolicy.cap(requests, ACCEPTANCE, CPU, FREE, 4);
        }
        assertThat(caps[0]).as("2 requests: drafts of 3 fill the flat 8 positions").isEqualTo(3);
        for (int i = 1; i < caps.length; i++) {
            assertThat(caps[i]).as("caps %s", Arrays.toString(caps)).isLessThanOrEqualTo(caps[i - 1]);
        }
        assertThat(caps[7]).as("9 requests: every extra position is paid by the batch, plain decoding").isZero();
        assertThat(BatchAwarePolicy.cap(8, ACCEPTANCE, FLAT, FREE, 4)).isEqualTo(4);
        assertThat(BatchAwarePolicy.cap(8, new double[] {0.05, 0.05, 0.05, 0.05}, CPU, FREE, 4)).isZero();
    }

    @Test
    void theDraftersPassesAreCountedToo() {
        // Flat target passes: drafting is only worth what the drafter's passes cost.
        assertThat(BatchAwarePolicy.cap(8, ACCEPTANCE, FLAT, w -> 0.1, 4)).isEqualTo(4);
        assertThat(BatchAwarePolicy.cap(8, ACCEPTANCE, FLAT, w -> 0.5, 4))
                .as("each drafter pass half a target pass").isLessThan(4);
        assertThat(BatchAwarePolicy.cap(8, new double[] {0.3, 0.3, 0.3, 0.3}, FLAT, w -> 0.5, 4))
                .as("drafting costs more than the few tokens it gains").isZero();
        // Compute-bound target passes and a drafter at a tenth: less drafting than with a free drafter, never more.
        for (int requests = 2; requests <= 9; requests++) {
            assertThat(BatchAwarePolicy.cap(requests, ACCEPTANCE, CPU, w -> 0.1 * CPU.applyAsDouble(w), 4))
                    .isLessThanOrEqualTo(BatchAwarePolicy.cap(requests, ACCEPTANCE, CPU, FREE, 4));
        }
    }

    @Test
    void theRequestsPolicyDecidesWithinTheCapAndHearsEveryStep() {
        int[] limits = new int[1];
        int[] observed = new int[1];
        StepOutcome[] heard = new StepOutcome[1];
        DraftLengthPolicy inner = new DraftLengthPolicy() {
            @Override
            public int maxDraftTokens() {
                return 4;
            }

            @Override
            public int nextDraftLength(StepContext step) {
                limits[0] = step.limit();
                return step.limit();
            }

            @Override
            public void observe(StepOutcome outcome) {
                observed[0]++;
                heard[0] = outcome;
            }

            @Override
            public String name() {
                return "adaptive";
            }
        };
        int[] running = {1};
        double[] costs = new double[64];
        for (int w = 1; w <= 64; w++) {
            costs[w - 1] = CPU.applyAsDouble(w);
        }
        BatchAwarePolicy policy = new BatchAwarePolicy(inner, new BatchAwarePolicy.BatchView(() -> running[0],
                () -> costs, null), () -> new double[0], // nothing measured: the prior acceptance
                () -> CostModel.of(100, 1000, 1100, 1200, 1300, 1400));
        assertThat(policy.nextDraftLength(StepContext.steady(4))).isEqualTo(4);
        running[0] = 12;
        assertThat(policy.nextDraftLength(StepContext.steady(4))).isLessThan(4);
        assertThat(limits[0]).isLessThan(4);
        // A step in a shared pass: the request's policy hears its acceptance with the costs of a pass of its own.
        policy.observe(new StepOutcome(3, 3, 2, 1, 77_000, 99_000));
        assertThat(observed[0]).isEqualTo(1);
        assertThat(heard[0]).isEqualTo(new StepOutcome(3, 3, 2, 1, 300, 1300));
        running[0] = 1;
        policy.nextDraftLength(StepContext.steady(4));
        policy.observe(new StepOutcome(3, 3, 2, 1, 77_000, 99_000));
        assertThat(heard[0]).as("alone: as measured").isEqualTo(new StepOutcome(3, 3, 2, 1, 77_000, 99_000));
        assertThat(policy.name()).isEqualTo("adaptive");
    }
}
