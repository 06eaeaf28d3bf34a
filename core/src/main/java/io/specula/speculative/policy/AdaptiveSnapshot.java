package io.specula.speculative.policy;

/**
 * A read-only view of the adaptive policy's engine-wide state, for the Actuator endpoint and logs.
 *
 * @param steps                    decisions taken (one per decoding step of adaptive requests)
 * @param plainSteps               decisions for γ = 0 (target alone), probes not included
 * @param probes                   short drafts tried while speculation was off
 * @param successfulProbes         probes whose draft token was accepted
 * @param draftLengthHistogram     index γ: how often γ was chosen
 * @param acceptanceByPosition     index i: smoothed probability that draft position i+1 is accepted given the earlier
 *                                 ones were (0 before any measurement)
 * @param draftNanosPerToken       smoothed cost of a drafter step (0 before any measurement)
 * @param verifyNanosByWidth       index w−1: smoothed cost of a target pass scoring w positions (0 if never measured)
 */
public record AdaptiveSnapshot(long steps, long plainSteps, long probes, long successfulProbes,
                               long[] draftLengthHistogram, double[] acceptanceByPosition, double draftNanosPerToken,
                               double[] verifyNanosByWidth) {

    public AdaptiveSnapshot {
        draftLengthHistogram = draftLengthHistogram.clone();
        acceptanceByPosition = acceptanceByPosition.clone();
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
    public double[] verifyNanosByWidth() {
        return verifyNanosByWidth.clone();
    }

    /** Share of steps that decoded with the target alone (0 when there were none). */
    public double plainShare() {
        return steps == 0 ? 0 : (double) plainSteps / steps;
    }
}
