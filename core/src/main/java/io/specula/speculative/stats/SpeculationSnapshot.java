package io.specula.speculative.stats;

import io.specula.generate.FinishReason;

import java.util.Collections;
import java.util.EnumMap;
import java.util.Map;

/**
 * Speculative decoding statistics at one moment, immutable; for the Actuator endpoint and benchmarks. Counter names
 * follow vLLM's {@code spec_decode_*} metrics: a draft is one proposal of one or more tokens.
 *
 * @param requestsByFinishReason    finished requests by how they ended
 * @param steps                     target passes after the prompt
 * @param drafts                    steps that verified at least one drafted token
 * @param draftTokens               drafted tokens scored by the target
 * @param acceptedTokens            drafted tokens the target accepted
 * @param acceptedByPosition        index i: drafts whose token at position i was accepted
 * @param draftedByPosition         index i: drafts that had a token at position i
 * @param generatedTokens           output tokens of finished requests
 * @param draftNanos                time spent drafting
 * @param verifyNanos               time spent in target passes after the prompt
 * @param drafterFaults             requests whose drafter failed and that finished with the target alone
 * @param window                    drafts the recent window holds at most
 * @param recentDrafts              drafts in the recent window
 * @param recentDraftTokens         drafted tokens in the recent window
 * @param recentAcceptedTokens      accepted tokens in the recent window
 */
public record SpeculationSnapshot(Map<FinishReason, Long> requestsByFinishReason, long steps, long drafts,
                                  long draftTokens, long acceptedTokens, long[] acceptedByPosition,
                                  long[] draftedByPosition, long generatedTokens, long draftNanos, long verifyNanos,
                                  long drafterFaults, int window, long recentDrafts, long recentDraftTokens,
                                  long recentAcceptedTokens) {

    public SpeculationSnapshot {
        requestsByFinishReason = Collections.unmodifiableMap(new EnumMap<>(requestsByFinishReason));
        acceptedByPosition = acceptedByPosition.clone();
        draftedByPosition = draftedByPosition.clone();
    }

    @Override
    public long[] acceptedByPosition() {
        return acceptedByPosition.clone();
    }

    @Override
    public long[] draftedByPosition() {
        return draftedByPosition.clone();
    }

    /** Finished requests. */
    public long requests() {
        return requestsByFinishReason.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Draft positions seen so far: the longest draft verified. */
    public int positions() {
        int n = draftedByPosition.length;
        while (n > 0 && draftedByPosition[n - 1] == 0) {
            n--;
        }
        return n;
    }

    /** accepted / draft tokens since start (vLLM's acceptance rate); 0 before any draft. */
    public double acceptanceRate() {
        return draftTokens == 0 ? 0 : (double) acceptedTokens / draftTokens;
    }

    /** 1 + accepted / drafts since start (tokens per target pass while speculating); 0 before any draft. */
    public double meanAcceptanceLength() {
        return drafts == 0 ? 0 : 1 + (double) acceptedTokens / drafts;
    }

    /** Acceptance rate over the recent window, the gauge to watch; NaN while the window is empty. */
    public double recentAcceptanceRate() {
        return recentDraftTokens == 0 ? Double.NaN : (double) recentAcceptedTokens / recentDraftTokens;
    }

    /** 1 + accepted / drafts over the recent window; NaN while the window is empty. */
    public double recentMeanAcceptanceLength() {
        return recentDrafts == 0 ? Double.NaN : 1 + (double) recentAcceptedTokens / recentDrafts;
    }

    /** Acceptance rate at draft position i: accepted / drafted there; 0 if never drafted. */
    public double acceptanceRateAt(int position) {
        return position >= draftedByPosition.length || draftedByPosition[position] == 0 ? 0
                : (double) acceptedByPosition[position] / draftedByPosition[position];
    }

    /** Share of steps that drafted anything. */
    public double speculativeStepShare() {
        return steps == 0 ? 0 : (double) drafts / steps;
    }
}
