package io.specula.speculative.policy;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.function.IntToDoubleFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The adaptive policy on a simulated, deterministic cost model: a drafter step costs {@code draftCost}, a target pass
 * of width w costs {@code verify(w)}; draft position j is accepted with probability a_j given the earlier ones were.
 * Simulated time is what the policy observes as nanoseconds.
 */
class AdaptivePolicyTest {

    /** Independent brute force: the expected tokens of each γ from the probability of each outcome. */
    static int bruteForce(double[] a, double draftCost, IntToDoubleFunction verify, int limit) {
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
            double rate = expected / (g * draftCost + verify.applyAsDouble(g + 1));
            if (rate > bestRate * (1 + 1e-9)) {
                bestRate = rate;
                best = g;
            }
        }
        return best;
    }

    static double rate(double[] a, double draftCost, IntToDoubleFunction verify, int g) {
        double expected = 1;
        double reach = 1;
        for (int j = 0; j < g; j++) {
            reach *= a[j];
            expected += reach;
        }
        return expected / (g * draftCost + verify.applyAsDouble(g + 1));
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
            double draftCost = r.nextDouble() * 0.5;
            double slope = r.nextBoolean() ? r.nextDouble() * 0.05 : r.nextDouble() * 1.0;  // GPU-like vs CPU-like
            IntToDoubleFunction verify = w -> 1 + slope * (w - 1);
            int expected = bruteForce(a, draftCost, verify, limit);
            int chosen = AdaptivePolicy.bestDraftLength(a, draftCost, verify, limit);
            if (chosen != expected) {
                // Only a floating-point near-tie may differ.
                assertThat(rate(a, draftCost, verify, chosen))
                        .isCloseTo(rate(a, draftCost, verify, expected), org.assertj.core.api.Assertions.within(1e-9));
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
        assertThat(AdaptivePolicy.bestDraftLength(good, 0.5, w -> w, 4)).isZero();
        // On a GPU-like cost curve the same drafter pays.
        assertThat(AdaptivePolicy.bestDraftLength(good, 0.05, w -> 1 + 0.02 * (w - 1), 4)).isPositive();
        assertThat(AdaptivePolicy.bestDraftLength(new double[] {0.05, 0.05}, 0.1, w -> 1 + 0.02 * (w - 1), 2))
                .isZero();
    }

    /** Runs a request of {@code steps} steps; returns {tokens, time, speculative steps} over its last {@code tail}. */
    static double[] simulate(AdaptivePolicy policy, double[] a, double draftCost, IntToDoubleFunction verify,
                             int steps, int tail, SplittableRandom r, int[] histogram) {
        double tokens = 0;
        double time = 0;
        double speculative = 0;
        for (int s = 0; s < steps; s++) {
            int g = policy.nextDraftLength(policy.maxDraftTokens());
            int accepted = 0;
            while (accepted < g && r.nextDouble() < a[accepted]) {
                accepted++;
            }
            long draftNanos = Math.round(g * draftCost);
            long verifyNanos = Math.round(verify.applyAsDouble(g + 1));
            policy.observe(new StepOutcome(g, g, accepted, g > 0 ? 1 : 0, draftNanos, verifyNanos));
            if (s >= steps - tail) {
                tokens += accepted + 1;
                time += draftNanos + verifyNanos;
                speculative += g > 0 ? 1 : 0;
                if (histogram != null) {
                    histogram[g]++;
                }
            }
        }
        return new double[] {tokens, time, speculative};
    }

    @Test
    void convergesToTheBestDraftLength() {
        double[] a = {0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55};
        double draftCost = 80_000;                         // a drafter step: 80 µs
        IntToDoubleFunction verify = w -> 1_000_000 + 120_000 * (w - 1);   // a target pass: 1 ms + 0.12 ms/position
        int best = bruteForce(a, draftCost, verify, 8);
        assertThat(best).isBetween(2, 7);
        AdaptivePolicy policy = new AdaptivePolicy(new AdaptiveEstimates(), 8);
        int[] histogram = new int[9];
        double[] run = simulate(policy, a, draftCost, verify, 4000, 1000, new SplittableRandom(3), histogram);
        int mode = 0;
        for (int g = 0; g < histogram.length; g++) {
            if (histogram[g] > histogram[mode]) {
                mode = g;
            }
        }
        // Noisy acceptance estimates may pick a neighbour now and then; throughput is what counts.
        assertThat(Math.abs(mode - best)).isLessThanOrEqualTo(1);
        double optimal = rate(a, draftCost, verify, best);
        assertThat(run[0] / run[1]).isGreaterThan(0.95 * optimal);
    }

    @Test
    void turnsSpeculationOffForAUselessDrafterAndBoundsProbeCost() {
        double[] a = {0.02, 0.02, 0.02, 0.02};
        double draftCost = 300_000;
        IntToDoubleFunction verify = w -> 1_000_000 + 100_000 * (w - 1);
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        AdaptivePolicy policy = new AdaptivePolicy(estimates, 4);
        double[] run = simulate(policy, a, draftCost, verify, 3000, 2000, new SplittableRandom(5), null);
        double plainRate = 1 / verify.applyAsDouble(1);
        assertThat(run[2] / 2000).as("share of speculative steps").isLessThan(0.05);
        assertThat(run[0] / run[1]).as("throughput vs plain").isGreaterThan(0.97 * plainRate);
        AdaptiveSnapshot snap = estimates.snapshot();
        assertThat(snap.plainShare()).isGreaterThan(0.9);
        assertThat(snap.probes()).isPositive();
        // A new request starts from what the engine learned: no speculation from its first step.
        AdaptivePolicy next = new AdaptivePolicy(estimates, 4);
        assertThat(next.nextDraftLength(4)).isZero();
    }

    @Test
    void returnsToSpeculationWhenTheDrafterBecomesUseful() {
        IntToDoubleFunction verify = w -> 1_000_000 + 100_000 * (w - 1);
        double draftCost = 100_000;
        AdaptivePolicy policy = new AdaptivePolicy(new AdaptiveEstimates(), 4);
        SplittableRandom r = new SplittableRandom(11);
        double[] useless = simulate(policy, new double[] {0.0, 0.0, 0.0, 0.0}, draftCost, verify, 2000, 500, r, null);
        assertThat(useless[2] / 500).isLessThan(0.05);
        // The text turns repetitive: the drafter is now right 90% of the time.
        double[] a = {0.9, 0.9, 0.9, 0.9};
        double[] useful = simulate(policy, a, draftCost, verify, 1500, 1000, r, null);
        assertThat(useful[2] / 1000).as("share of speculative steps").isGreaterThan(0.9);
        int best = bruteForce(a, draftCost, verify, 4);
        assertThat(useful[0] / useful[1]).isGreaterThan(0.9 * rate(a, draftCost, verify, best));
    }

    @Test
    void learnsCostsFromMeasurementsAndSnapshotsThem() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        AdaptivePolicy policy = new AdaptivePolicy(estimates, 4);
        int g = policy.nextDraftLength(4);
        assertThat(g).as("optimistic first guess").isPositive();
        policy.observe(new StepOutcome(g, g, g, 1, 50_000L * g, 2_000_000));
        policy.observe(StepOutcome.plain(1_000_000));
        CostModel costs = estimates.costs();
        assertThat(costs.draft()).isEqualTo(50_000);
        assertThat(costs.verify(1)).isEqualTo(1_000_000);
        assertThat(costs.verify(g + 1)).isEqualTo(2_000_000);
        AdaptiveSnapshot snap = estimates.snapshot();
        assertThat(snap.steps()).isEqualTo(1);
        assertThat(snap.draftLengthHistogram()[g]).isEqualTo(1);
        assertThat(snap.acceptanceByPosition()[0]).isEqualTo(1.0);
        assertThat(snap.verifyNanosByWidth()[0]).isEqualTo(1_000_000);
    }

    @Test
    void ignoresDraftCostOfCatchUpAfterPlainSteps() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        AdaptivePolicy policy = new AdaptivePolicy(estimates, 4);
        policy.observe(new StepOutcome(2, 2, 1, 1, 100_000, 1_000_000));
        policy.observe(new StepOutcome(1, 1, 0, 40, 5_000_000, 1_000_000));
        assertThat(estimates.costs().draft()).isEqualTo(50_000);
    }
}
