package io.specula.speculative.policy;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The adaptive policy's decision rule and what it learns from single steps. Whole runs against recorded timings are in
 * {@link PolicySimulationTest}.
 */
class AdaptivePolicyTest {

    /** Independent brute force: the expected tokens of each γ from the probability of each outcome. */
    static int bruteForce(double[] a, IntToDoubleFunction draft, IntToDoubleFunction verify, int limit) {
        int best = 0;
        double bestRate = 1 / verify.applyAsDouble(1);
        for (int g = 1; g <= limit; g++) {
            double expected = 0;
            double reach = 1;
            for (int k = 0; k <= g; k++) {
                // P(exactly k accepted) = a_1..a_k accepted, then a rejection (or the end of the draft at k = g).
                double pk = reach * (k < g ? 1 - a[k] : 1);
                expected += pk * (k + 1);
                if (k < g) {
                    reach *= a[k];
                }
            }
            double rate = expected / (draft.applyAsDouble(g) + verify.applyAsDouble(g + 1));
            if (rate > bestRate * (1 + 1e-9)) {
                bestRate = rate;
                best = g;
            }
        }
        return best;
    }

    static double rate(double[] a, IntToDoubleFunction draft, IntToDoubleFunction verify, int g) {
        return AdaptivePolicy.expectedTokens(a, g) / (draft.applyAsDouble(g) + verify.applyAsDouble(g + 1));
    }

    @Test
    void choosesWhatBruteForceChooses() {
        SplittableRandom r = new SplittableRandom(7);
        int cases = 0;
        for (int trial = 0; trial < 20_000; trial++) {
            int limit = 1 + r.nextInt(16);
            double[] a = new double[limit];
            double level = r.nextDouble();
            for (int j = 0; j < limit; j++) {
                a[j] = Math.min(1, Math.max(0, level + 0.2 * (r.nextDouble() - 0.5) - 0.02 * j));
            }
            double perToken = r.nextDouble() * 0.5;
            double fixed = r.nextBoolean() ? 0 : r.nextDouble() * 0.3;
            IntToDoubleFunction draft = g -> fixed + perToken * g;
            double slope = r.nextBoolean() ? r.nextDouble() * 0.05 : r.nextDouble() * 1.0;  // GPU-like vs CPU-like
            IntToDoubleFunction verify = w -> 1 + slope * (w - 1);
            int expected = bruteForce(a, draft, verify, limit);
            int chosen = AdaptivePolicy.bestDraftLength(a, draft, verify, limit);
            if (chosen != expected) {
                // Only a floating-point near-tie may differ.
                assertThat(rate(a, draft, verify, chosen)).isCloseTo(rate(a, draft, verify, expected), within(1e-9));
            } else {
                cases++;
            }
        }
        assertThat(cases).isGreaterThan(19_900);
    }

    @Test
    void aCostlyCpuPassOrAPoorDrafterMeansNoSpeculation() {
        double[] good = {0.6, 0.6, 0.6, 0.6};
        // Width costs fully on a compute-bound CPU: 1.6 tokens for 0.5 + 2 units loses to 1 token for 1 unit.
        assertThat(AdaptivePolicy.bestDraftLength(good, g -> 0.5 * g, w -> w, 4)).isZero();
        // On a GPU-like cost curve the same drafter pays.
        assertThat(AdaptivePolicy.bestDraftLength(good, g -> 0.05 * g, w -> 1 + 0.02 * (w - 1), 4)).isPositive();
        assertThat(AdaptivePolicy.bestDraftLength(new double[] {0.05, 0.05}, g -> 0.1 * g, w -> 1 + 0.02 * (w - 1), 2))
                .isZero();
    }

    @Test
    void aFixedCostPerDraftFavoursLongerDrafts() {
        // The tiny-llama pair of docs/benchmarks.md: a drafter nearly always right whose cost per drafted token falls
        // with the draft length (c 0.33 at γ = 1, 0.20 at γ = 8): a fixed part per draft plus a part per token.
        double[] a = {0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9};
        IntToDoubleFunction verify = w -> 1 + 0.08 * (w - 1);
        int withFixedPart = AdaptivePolicy.bestDraftLength(a, g -> 0.15 + 0.18 * g, verify, 8);
        // Priced at its average cost at γ = 4 per token (what the old policy did), long drafts look too expensive.
        int atAverage = AdaptivePolicy.bestDraftLength(a, g -> (0.15 / 4 + 0.18) * g, verify, 8);
        assertThat(withFixedPart).isGreaterThan(atAverage);
    }

    @Test
    void learnsCostsFromEveryDraftCatchUpIncluded() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        SplittableRandom r = new SplittableRandom(3);
        // A drafter whose draft costs 30 µs + 50 µs per token + 4 µs per backlog token beyond the first.
        for (int i = 0; i < 60; i++) {
            int g = 1 + r.nextInt(6);
            int synced = r.nextInt(4) == 0 ? 2 + r.nextInt(200) : 1 + r.nextInt(2);
            long nanos = Math.round((30_000 + 50_000 * g + 4_000 * (synced - 1)) * (0.97 + 0.06 * r.nextDouble()));
            estimates.record(new StepOutcome(g, g, 0, synced, nanos, 1_000_000 + 100_000 * g), false);
        }
        CostModel costs = estimates.costs();
        assertThat(costs.draftFixed()).isCloseTo(30_000, within(6_000.0));
        assertThat(costs.draftPerToken()).isCloseTo(50_000, within(3_000.0));
        assertThat(costs.catchUpPerToken()).isCloseTo(4_000, within(400.0));
        assertThat(costs.verify(3)).isCloseTo(1_200_000, within(1.0));
        AdaptiveSnapshot snap = estimates.snapshot();
        assertThat(snap.draftNanosPerToken()).isEqualTo(costs.draftPerToken());
        assertThat(snap.verifyNanosByWidth()[2]).isEqualTo(1_200_000);
    }

    @Test
    void aStallAmongMeasurementsBarelyMovesTheEstimate() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        for (int i = 0; i < 40; i++) {
            // Every tenth plain step is descheduled for 20 ms.
            estimates.record(StepOutcome.plain(i % 10 == 3 ? 20_000_000 : 200_000), false);
        }
        assertThat(estimates.costs().plainStep()).isEqualTo(200_000);
    }

    @Test
    void onePassDuringAStallDoesNotPriceAWidthOut() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        // Passes cost 1 ms + 0.1 ms per extra position; widths 1, 3 and 5 are used all the time.
        for (int i = 0; i < 60; i++) {
            int width = 1 + 2 * (i % 3);
            estimates.record(new StepOutcome(width - 1, width - 1, 0, 1, 50_000L * (width - 1),
                    900_000 + 100_000L * width), false);
        }
        // Width 4 is measured once, while another process held the core (3x), then avoided for 100 passes.
        estimates.record(new StepOutcome(3, 3, 0, 1, 150_000, 3_900_000), false);
        for (int i = 0; i < 100; i++) {
            estimates.record(StepOutcome.plain(1_000_000), false);
        }
        CostModel costs = estimates.costs();
        // Its price is what the other widths say (1.3 ms), not the stalled pass; wider passes are not floored by it.
        assertThat(costs.verify(4)).isCloseTo(1_300_000, within(50_000.0));
        assertThat(costs.verify(5)).isCloseTo(1_400_000, within(50_000.0));
        // And the machine's load moves every width at once: all passes twice as slow.
        for (int i = 0; i < 20; i++) {
            estimates.record(StepOutcome.plain(2_000_000), false);
        }
        assertThat(estimates.costs().verify(5)).isCloseTo(2_800_000, within(100_000.0));
    }

    @Test
    void positionsNeverTriedAreEstimatedLikeTheOneBefore() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        // Only one-token drafts so far, 90% accepted.
        for (int i = 0; i < 50; i++) {
            estimates.record(new StepOutcome(1, 1, i % 10 == 0 ? 0 : 1, 1, 50_000, 1_100_000), false);
        }
        double[] a = estimates.acceptance();
        assertThat(a[0]).isBetween(0.85, 0.92);
        for (int j = 1; j < a.length; j++) {
            assertThat(a[j]).as("position %d, never drafted", j + 1).isCloseTo(a[0], within(1e-9));
        }
        AdaptiveSnapshot snap = estimates.snapshot();
        assertThat(snap.acceptanceByPosition()[3]).isCloseTo(a[0], within(1e-9));
        assertThat(snap.evidenceByPosition()[3]).isZero();
        assertThat(snap.evidenceByPosition()[0]).isPositive();
    }

    @Test
    void aLongBacklogIsCaughtUpOnlyWhenTheRestOfTheRequestPaysForIt() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        // Known costs: plain step 1 ms, width 5 1.3 ms, 60 µs per drafted token, 10 µs per catch-up token; and a
        // drafter right 80% of the time.
        for (int i = 0; i < 20; i++) {
            estimates.record(StepOutcome.plain(1_000_000), false);
            estimates.record(new StepOutcome(4, 4, i % 5 == 0 ? 1 : 4, 1 + i % 2, 240_000 + 10_000 * (i % 2),
                    1_300_000), false);
            estimates.record(new StepOutcome(1, 1, 1, 1 + 50 * (i % 3), 60_000 + 10_000 * 50 * (i % 3),
                    1_100_000), false);
        }
        AdaptivePolicy policy = new AdaptivePolicy(estimates, 4);
        assertThat(policy.nextDraftLength(new StepContext(4, 1, 1000))).as("caught up").isPositive();
        // A 2,000-token prompt the drafter has not seen costs 20 ms to catch up on; 3 tokens left cannot repay it.
        assertThat(policy.nextDraftLength(new StepContext(4, 2000, 3))).isZero();
        // The same backlog with a long answer ahead is worth it.
        assertThat(policy.nextDraftLength(new StepContext(4, 2000, 1000))).isPositive();
    }

    @Test
    void aRequestFollowsItsOwnTextOverTheEnginesPrior() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        for (int i = 0; i < 30; i++) {
            estimates.record(StepOutcome.plain(1_000_000), false);
            estimates.record(new StepOutcome(4, 4, 4, 2, 200_000, 1_300_000), false);
        }
        AdaptivePolicy policy = new AdaptivePolicy(estimates, 4);
        assertThat(policy.nextDraftLength(StepContext.steady(4))).isEqualTo(4);
        // This request's text defeats the drafter: it stops drafting within 25 steps, having lost less than 8 plain
        // steps' time to the rejected drafts (the engine's estimate weighs 2 trials in the request's; positions 2-4,
        // never reached, keep the engine's high estimate, so the drafts stay long until a1 is below 1/8).
        int steps = 0;
        double lost = 0;
        int g;
        while ((g = policy.nextDraftLength(StepContext.steady(4))) > 0) {
            long draft = 50_000L * g;
            long verify = 1_000_000 + 75_000L * g;
            policy.observe(new StepOutcome(g, g, 0, 1, draft, verify));
            lost += draft + verify - 1_000_000;
            steps++;
        }
        assertThat(steps).isBetween(1, 25);
        assertThat(lost).isLessThan(8 * 1_000_000);
    }
}
