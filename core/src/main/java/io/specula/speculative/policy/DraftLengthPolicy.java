package io.specula.speculative.policy;

import io.specula.speculative.drafter.DraftGate;

/**
 * Decides the draft length γ before each step of one request and learns from each step's outcome. One instance per
 * request (policies keep per-request state), used by the decoding thread; shared, engine-wide state (like
 * {@link AdaptiveEstimates}) is thread-safe.
 *
 * <p>A policy's choices change how fast a request decodes, never what it outputs: greedy and seeded requests give the
 * same tokens whatever the draft lengths ({@link io.specula.speculative.verify.AcceptanceRule}).
 */
public interface DraftLengthPolicy {

    /** The largest draft length this policy was configured with (γmax). */
    int maxDraftTokens();

    /**
     * The draft length for the next step, 0 ..{@code step.limit()}; 0 means a plain target step (no drafting at all,
     * and no catch-up of the drafter).
     */
    int nextDraftLength(StepContext step);

    /** Consulted by the drafter per drafted token; by default every requested token is drafted. */
    default DraftGate gate() {
        return DraftGate.ALWAYS;
    }

    /** Called after every step, plain steps included. */
    void observe(StepOutcome outcome);

    /** Called once when the request ends, with the number of tokens it produced. */
    default void finish(int generatedTokens) {
    }

    /** Short name for logs and metric tags. */
    String name();
}
