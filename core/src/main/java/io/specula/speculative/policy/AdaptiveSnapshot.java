package io.specula.speculative.policy;

import java.util.Locale;

/**
 * A read-only view of the adaptive policy's engine-wide state, for the Actuator endpoint, the sample's page and logs.
 *
 * @param steps                 decisions taken (one per decoding step of adaptive requests)
 * @param plainSteps            decisions for γ = 0 (target alone), probes not included
 * @param probes                one-token drafts tried while speculation was off
 * @param successfulProbes      probes whose draft token was accepted
 * @param draftLengthHistogram  index γ: how often γ was chosen (probes count as γ = 1)
 * @param acceptanceByPosition  index i: estimated probability that draft position i+1 is accepted given the earlier
 *                              ones were; a position with little evidence is estimated like the one before it (from
 *                              {@value AdaptiveEstimates#PRIOR_ACCEPTANCE} for the first), never 0 for want of trials
 * @param evidenceByPosition    index i: the decayed number of recent trials behind that estimate (0: prior only)
 * @param draftFixedNanos       fixed part of a draft's cost (0 before any draft was measured)
 * @param draftNanosPerToken    part of a draft's cost per drafted token (0 before any draft was measured)
 * @param catchUpNanosPerToken  cost of catching the drafter up, per token of backlog (0 before measured)
 * @param verifyNanosByWidth    index w−1: estimated cost of a target pass scoring w positions (0 if never measured)
 * @param probeInterval         plain steps between probes now (grows while probes fail)
 * @param plainStepsSinceProbe  plain steps since the last draft or probe, across requests
 * @param probeBudgetAvailable  whether the probe budget allows a probe now
 * @param typicalOutputTokens   typical output length of a request (the horizon a catch-up must pay off over)
 * @param outlook               what the policy would do now, and why
 */
public record AdaptiveSnapshot(long steps, long plainSteps, long probes, long successfulProbes,
                               long[] draftLengthHistogram, double[] acceptanceByPosition,
                               double[] evidenceByPosition, double draftFixedNanos, double draftNanosPerToken,
                               double catchUpNanosPerToken, double[] verifyNanosByWidth, int probeInterval,
                               int plainStepsSinceProbe, boolean probeBudgetAvailable, double typicalOutputTokens,
                               Outlook outlook) {

    public AdaptiveSnapshot {
        draftLengthHistogram = draftLengthHistogram.clone();
        acceptanceByPosition = acceptanceByPosition.clone();
        evidenceByPosition = evidenceByPosition.clone();
        verifyNanosByWidth = verifyNanosByWidth.clone();
    }

    @Override
    public long[] draftLengthHistogram() {
        return draftLengthHistogram.clone();
    }

    @Override
    public double[] acceptanceByPosition() {
        return acceptanceByPosition.clone();
    }

    @Override
    public double[] evidenceByPosition() {
        return evidenceByPosition.clone();
    }

    @Override
    public double[] verifyNanosByWidth() {
        return verifyNanosByWidth.clone();
    }

    /** Share of steps that decoded with the target alone (0 when there were none). */
    public double plainShare() {
        return steps == 0 ? 0 : (double) plainSteps / steps;
    }

    /**
     * What the policy would choose for a caught-up request now, from the engine-wide estimates (a request's own
     * acceptance moves it from there).
     *
     * @param drafting        whether it would draft
     * @param draftLength     the draft length it would choose (0: the target alone)
     * @param expectedSpeedup expected speed of that choice relative to the target alone (1 when not drafting); at the
     *                        best draft length when not drafting, it says by how much speculation falls short
     * @param bestDraftLength the best draft length by these estimates, even if it does not pay
     * @param bestSpeedup     its expected speed relative to the target alone
     * @param reason          in words, for people: why it drafts or not
     */
    public record Outlook(boolean drafting, int draftLength, double expectedSpeedup, int bestDraftLength,
                          double bestSpeedup, String reason) {

        static Outlook of(double[] acceptance, CostModel costs, int maxDraft, boolean drafterMeasured,
                          int probeInterval) {
            int limit = Math.min(maxDraft, acceptance.length);
            int best = AdaptivePolicy.bestDraftLength(acceptance, costs::draft, costs::verify, limit);
            double plain = costs.plainStep();
            // The best length even if it loses to the target alone: how far speculation is from paying.
            int bestAny = 1;
            double bestAnyRate = 0;
            for (int g = 1; g <= limit; g++) {
                double r = AdaptivePolicy.expectedTokens(acceptance, g) / costs.step(g);
                if (r > bestAnyRate) {
                    bestAnyRate = r;
                    bestAny = g;
                }
            }
            double bestSpeedup = bestAnyRate * plain;
            double drafterShare = costs.draft(bestAny) / bestAny / plain;
            String acceptanceText = String.format(Locale.ROOT, "%.0f%% of first draft tokens accepted", 100 * acceptance[0]);
            String costText = String.format(Locale.ROOT, "a drafted token costs %.2f of a target step", drafterShare);
            if (!drafterMeasured) {
                return new Outlook(best > 0, best, best > 0 ? bestSpeedup : 1, bestAny, bestSpeedup,
                        "nothing measured yet: the next requests try drafts (assuming "
                                + String.format(Locale.ROOT, "%.0f%%", 100 * acceptance[0]) + " acceptance)");
            }
            if (best > 0) {
                return new Outlook(true, best, bestSpeedup, bestAny, bestSpeedup, String.format(Locale.ROOT,
                        "drafting γ = %d: expected %.2fx the target alone (%s; %s)", best, bestSpeedup,
                        acceptanceText, costText));
            }
            return new Outlook(false, 0, 1, bestAny, bestSpeedup, String.format(Locale.ROOT,
                    "not drafting: at best %.2fx the target alone (γ = %d; %s; %s); the drafter is re-tested every %d"
                            + " plain steps", bestSpeedup, bestAny, acceptanceText, costText, probeInterval));
        }
    }
}
