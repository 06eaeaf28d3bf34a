package io.specula.speculative.policy;

import io.specula.speculative.drafter.DraftGate;

/**
 * Decides the draft length γ before each step of one request and learns from each step's outcome. One instance per
 * request (policies keep per-request state), used by the decoding thread; shared, engine-wide state (like
 * {@link AdaptiveEstimates}) is thread-safe.
 */
public interface DraftLengthPolicy {

    /** The largest draft length this policy was configured with (γmax). */
    int maxDraftTokens();

    /**
     * The draft length for the next step, 0 ..{@code limit}; 0 means a plain target step (no drafting at all).
     *
     * @param limit at most γmax, and less near the token limit or the end of the context
     */
    int nextDraftLength(int limit);

    /** Consulted by the drafter per drafted token; by default every requested token is drafted. */
    default DraftGate gate() {
        return DraftGate.ALWAYS;
    }

    /** Called after every step, plain steps included. */
    void observe(StepOutcome outcome);

    /** Short name for logs and metric tags. */
    String name();
}
