package io.specula.adaptive;

import java.time.Instant;
import java.util.List;

/**
 * What the adaptive drafter has done so far (for the Actuator endpoint, meters and benchmarks). Never holds request
 * text.
 *
 * @param enabled           whether it learns (false: the drafter serves as loaded)
 * @param paused            whether the background trainer is paused
 * @param version           the serving drafter version (0 = the drafter as loaded)
 * @param examplesCollected training windows collected since start
 * @param positionsCollected labelled positions collected since start
 * @param requestsObserved  requests whose verification passes were collected
 * @param trainingExamples  examples in the training part of the buffer now
 * @param heldOutExamples   examples in the held-out part now
 * @param heldOutPositions  labelled positions in the held-out part now
 * @param trainingSteps     optimiser steps since start
 * @param lastLoss          the loss of the last step (NaN before the first)
 * @param updatesAccepted   candidates swapped in
 * @param updatesRejected   candidates not served because they did not score better, by the margin, on the held-out
 *                          slice
 * @param failures          updates (or checkpoints) that failed; serving went on with the last good drafter
 * @param lastError         the last failure's message, or null
 * @param lastUpdate        when the last update finished, or null
 * @param versions          the most recent versions, newest first
 * @param targetVersion     the serving target's version, whose examples the buffer keeps (1: as loaded)
 * @param examplesDropped   examples dropped because a target update made their target an older one
 */
public record AdaptationStatus(boolean enabled, boolean paused, int version, long examplesCollected,
                               long positionsCollected, long requestsObserved, int trainingExamples,
                               int heldOutExamples, int heldOutPositions, long trainingSteps, float lastLoss,
                               long updatesAccepted, long updatesRejected, long failures, String lastError,
                               Instant lastUpdate, List<VersionStatus> versions, int targetVersion,
                               long examplesDropped) {

    /**
     * One drafter version.
     *
     * @param version                   its number
     * @param basedOn                   the version it was fine-tuned from (-1 for a loaded one)
     * @param created                   when it was made (or loaded)
     * @param current                   whether it serves new requests now
     * @param heldOutMatchRate          its greedy acceptance on the held-out slice at its last evaluation (NaN before)
     * @param heldOutExpectedAcceptance its expected acceptance under sampling there (NaN before)
     * @param requests                  requests that drafted with it
     * @param draftedTokens             tokens it drafted in live traffic
     * @param acceptedTokens            of those, tokens the target accepted
     */
    public record VersionStatus(int version, int basedOn, Instant created, boolean current, double heldOutMatchRate,
                                double heldOutExpectedAcceptance, long requests, long draftedTokens,
                                long acceptedTokens) {

        /** Live acceptance rate, accepted / drafted tokens (NaN before any draft). */
        public double acceptanceRate() {
            return draftedTokens == 0 ? Double.NaN : (double) acceptedTokens / draftedTokens;
        }
    }
}
