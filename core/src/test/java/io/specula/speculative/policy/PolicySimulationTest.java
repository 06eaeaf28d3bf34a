package io.specula.speculative.policy;

import io.specula.speculative.policy.PolicySimulator.Request;
import io.specula.speculative.policy.PolicySimulator.Stream;
import io.specula.speculative.policy.PolicySimulator.Text;
import io.specula.speculative.policy.PolicySimulator.Timings;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The failures of issue 18, reproduced from recorded timings ({@code src/test/resources/policy}, written by
 * {@link RecordStepTimings} on the 2-core development machine as thread CPU time on one core, so that other work on
 * the machine does not distort them) through {@link PolicySimulator}, and the policy's recovery from each within a
 * stated number of steps. Deterministic: fixed seeds. The recorded pairs: the shipped target and drafter (first-draft
 * acceptance 0.90, a drafted token ~0.09 of a target step), the shipped target with a random drafter (acceptance 0),
 * and a tiny random target (2 layers × 128) with a larger unrelated drafter, which costs twice a target step.
 */
class PolicySimulationTest {

    static final Timings SHIPPED = Timings.load("shipped.txt");
    static final Timings RANDOM_DRAFTER = Timings.load("shipped-random-drafter.txt");
    static final Timings TINY_TARGET = Timings.load("tiny-target-unrelated-drafter.txt");

    /**
     * The sample's state in issue 18: a drafter cost measured while another job loaded the machine (17.4 ms per drafted
     * token, where the recorded drafter costs ~0.9 ms) and target passes measured in the same burst.
     */
    static void poison(AdaptiveEstimates estimates) {
        for (int i = 0; i < 40; i++) {
            estimates.record(new StepOutcome(2, 2, 1, 1, 34_800_000, 18_000_000), false);
        }
    }

    static double speedup(List<Request> requests) {
        return new Stream(requests).speedup();
    }

    @Test
    void aPoisonedDrafterCostIsCorrectedByProbes() {
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        poison(estimates);
        assertThat(estimates.snapshot().outlook().drafting()).as("poisoned: no drafts").isFalse();
        assertThat(estimates.snapshot().outlook().reason()).startsWith("not drafting");

        Stream stream = new PolicySimulator(SHIPPED, 1).runMany(() -> new AdaptivePolicy(estimates, 4), 20, 20, 64);
        Stream clean = new PolicySimulator(SHIPPED, 1).runMany(
                new EngineWide(new AdaptiveEstimates())::policy, 20, 20, 64);
        int recovered = PolicySimulator.recoveredAt(stream.choices(), 50, 0.8);
        double lastFive = speedup(stream.requests().subList(15, 20));
        double cleanLastFive = speedup(clean.requests().subList(15, 20));
        System.out.printf("poisoned: drafting again from step %d; last 5 requests %.3f vs %.3f never poisoned;"
                + " drafter %.0f ns per token%n", recovered, lastFive, cleanLastFive, estimates.costs().draftPerToken());

        // Probes re-measure the drafter (their catch-up included): 80% of a 50-step window drafts again within 100
        // steps, the estimate is the recorded cost again, and after 15 requests speed is within 10% of an engine that
        // was never poisoned (2.3% in this run, 1.889 against 1.933: positions 2-4 are relearned from the poisoned
        // steps' rejections).
        assertThat(recovered).as("step from which 80% of 50 steps draft").isBetween(0, 100);
        double recordedPerToken = (Timings.median(SHIPPED.draftByLength()[3]) - Timings.median(
                SHIPPED.draftByLength()[0])) / 3;
        assertThat(estimates.costs().draftPerToken()).isCloseTo(recordedPerToken, within(0.25 * recordedPerToken));
        assertThat(lastFive).isGreaterThan(0.9 * cleanLastFive);
        assertThat(estimates.snapshot().outlook().drafting()).isTrue();
    }

    @Test
    void aStreamOfShortRequestsStillReTestsTheDrafter() {
        // 16-token requests: a probe budget per request (the old policy's) never allowed a probe in any of them.
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        poison(estimates);
        Stream stream = new PolicySimulator(SHIPPED, 2).runMany(() -> new AdaptivePolicy(estimates, 4), 40, 20, 16);
        int recovered = PolicySimulator.recoveredAt(stream.choices(), 45, 0.8);
        System.out.printf("16-token requests: drafting again from step %d (request %d); speed-up of the last 20 %.3f%n",
                recovered, recovered / 15, speedup(stream.requests().subList(20, 40)));
        assertThat(recovered).as("step from which 80% of 45 steps draft").isBetween(0, 5 * 15);
        assertThat(speedup(stream.requests().subList(20, 40))).isGreaterThan(1.3);
    }

    @Test
    void positionsNeverDraftedAreTriedAtOnce() {
        // The engine has only seen one-token drafts (probes): positions 2 and beyond were never drafted.
        AdaptiveEstimates estimates = new AdaptiveEstimates();
        PolicySimulator sim = new PolicySimulator(SHIPPED, 3);
        for (int i = 0; i < 60; i++) {
            int accepted = i % 10 == 0 ? 0 : 1;
            estimates.record(new StepOutcome(1, 1, accepted, 1, 950_000, Math.round(SHIPPED.verify(2,
                    new java.util.SplittableRandom(i)))), false);
            estimates.record(StepOutcome.plain(Math.round(SHIPPED.verify(1, new java.util.SplittableRandom(i)))),
                    false);
        }
        double[] a = estimates.acceptance();
        assertThat(a[1]).as("position 2, never drafted").isCloseTo(a[0], within(1e-9));
        assertThat(estimates.snapshot().acceptanceByPosition()[3]).as("shown as the prior, not 0").isGreaterThan(0.8);
        assertThat(new AdaptivePolicy(estimates, 4).nextDraftLength(StepContext.steady(4)))
                .as("the first decision drafts past position 1").isGreaterThanOrEqualTo(2);

        Stream stream = sim.runMany(() -> new AdaptivePolicy(estimates, 4), 40, 12, 64);
        double best = 0;
        for (int g = 1; g <= 4; g++) {
            int gamma = g;
            best = Math.max(best, new PolicySimulator(SHIPPED, 3).runMany(() -> new FixedPolicy(gamma), 40, 12, 64)
                    .speedup());
        }
        System.out.printf("never-drafted positions: %.3f vs best fixed γ ≤ 4 %.3f%n", stream.speedup(), best);
        assertThat(stream.speedup()).isGreaterThan(0.95 * best);
    }

    @Test
    void aUselessDrafterCostsWhatPlainDecodingCosts() {
        for (Timings t : new Timings[] {RANDOM_DRAFTER, TINY_TARGET}) {
            for (int tokens : new int[] {16, 96, 256}) {
                AdaptiveEstimates estimates = new AdaptiveEstimates();
                Stream stream = new PolicySimulator(t, 3).runMany(() -> new AdaptivePolicy(estimates, 4), 40, 12,
                        tokens);
                System.out.printf("useless drafter, %s, 40 x %d tokens: %.3f of plain, %d probes%n", t.name(), tokens,
                        stream.speedup(), estimates.snapshot().probes());
                assertThat(stream.speedup()).as("%s, %d tokens", t.name(), tokens).isGreaterThan(0.97);
                assertThat(estimates.snapshot().outlook().drafting()).isFalse();
            }
        }
    }

    @Test
    void onTheShippedPairTheDefaultIsWithinFivePercentOfTheBestFixedLength() {
        double[] fixed = new double[9];
        for (int g = 1; g <= 8; g++) {
            int gamma = g;
            fixed[g] = new PolicySimulator(SHIPPED, 4).runMany(() -> new FixedPolicy(gamma), 40, 12, 64).speedup();
        }
        double best4 = 0;
        double best8 = 0;
        for (int g = 1; g <= 8; g++) {
            best8 = Math.max(best8, fixed[g]);
            if (g <= 4) {
                best4 = best8;
            }
        }
        double adaptive4 = new PolicySimulator(SHIPPED, 4).runMany(new EngineWide(new AdaptiveEstimates(), 4)::policy,
                40, 12, 64).speedup();
        double adaptive8 = new PolicySimulator(SHIPPED, 4).runMany(new EngineWide(new AdaptiveEstimates(), 8)::policy,
                40, 12, 64).speedup();
        System.out.printf("shipped: adaptive γmax 4 %.3f (best fixed ≤ 4 %.3f), γmax 8 %.3f (best fixed %.3f)%n",
                adaptive4, best4, adaptive8, best8);
        // The default γmax: within 5% of the best fixed length (2.7% in this run). With γmax 8 the expected speed is
        // nearly flat from γ = 3 to 6 on this pair and a request's own noisy estimates move it between them: within 7%
        // (0.4% in this run).
        assertThat(adaptive4).isGreaterThan(0.95 * best4);
        assertThat(adaptive8).isGreaterThan(0.93 * best8);
    }

    /**
     * The under-drafting of issue 18's benchmark: on the shipped pair the default chose γ = 1 on ~40% of its steps where
     * fixed γ = 3 to 6 was fastest, and reached 0.84–0.92 of the best fixed length on a quiet machine. Reproduced here by
     * the bench's own texts (the drafter's recorded greedy runs over bench-prompts.txt: acceptance comes in easy and hard
     * passages, not independent draws) and the noise of wall-clock timings (3% of timed operations stretched 3×). The
     * cause was the pass cost by width, a median of each width's own last passes: a width the policy used now and then
     * (γ = 3, width 4) took its next measurement at face value, so one pass during a stall priced it at 3× and, through
     * the rule that a wider pass costs at least as much, every wider draft with it; the policy then avoided those widths
     * and never measured them again. Before the fix this test failed: seed 1 0.946 of the best fixed length, seed 2
     * 0.832 with γ = 1 on 452 of its 674 steps.
     */
    @Test
    void onTheBenchTextsWithNoisyTimingsTheDefaultIsWithinFivePercentOfTheBestFixedLength() {
        List<Text> texts = Text.load("shipped-greedy-runs.txt");
        double[] ratios = new double[6];
        for (long seed = 1; seed <= ratios.length; seed++) {
            double best = 0;
            int bestGamma = 0;
            for (int g = 1; g <= 8; g++) {
                int gamma = g;
                double s = new PolicySimulator(SHIPPED, seed).withStalls(0.03, 3)
                        .runTexts(() -> new FixedPolicy(gamma), texts, 2).speedup();
                if (s > best) {
                    best = s;
                    bestGamma = g;
                }
            }
            // As `specula bench`: one warm-up pass over the prompts, then two measured ones, one engine.
            EngineWide engine = new EngineWide(new AdaptiveEstimates(), 4);
            PolicySimulator sim = new PolicySimulator(SHIPPED, seed).withStalls(0.03, 3);
            sim.runTexts(engine::policy, texts, 1);
            Stream adaptive = sim.runTexts(engine::policy, texts, 2);
            long oneTokenDrafts = java.util.Arrays.stream(adaptive.choices()).filter(g -> g == 1).count();
            System.out.printf("bench texts, stalls, seed %d: adaptive γmax 4 %.3f, best fixed γ = %d %.3f: %.3f of it;"
                    + " γ = 1 on %d of %d steps%n", seed, adaptive.speedup(), bestGamma, best, adaptive.speedup() / best,
                    oneTokenDrafts, adaptive.choices().length);
            ratios[(int) seed - 1] = adaptive.speedup() / best;
            assertThat(ratios[(int) seed - 1]).as("seed %d", seed).isGreaterThan(0.93);
            assertThat(oneTokenDrafts).as("seed %d: one-token drafts", seed).isLessThan(adaptive.choices().length / 10);
        }
        // The goal, over the six seeds: the median within 5% of the best fixed length (each seed within 7%).
        // In this run 0.978, 0.972, 0.962, 0.954, 0.956 and 0.951: median 0.959.
        java.util.Arrays.sort(ratios);
        assertThat((ratios[2] + ratios[3]) / 2).as("median of the seeds").isGreaterThan(0.95);
    }

    /** Adaptive policies of one engine (shared estimates). */
    record EngineWide(AdaptiveEstimates estimates, int maxDraft) {
        EngineWide(AdaptiveEstimates estimates) {
            this(estimates, 4);
        }

        DraftLengthPolicy policy() {
            return new AdaptivePolicy(estimates, maxDraft);
        }
    }
}
