package io.specula.speculative.drafter;

/**
 * A drafter's state for one request (its KV cache, for a model drafter). Used by one decoding thread.
 *
 * <p>Protocol per step: {@link #propose} drafts continuing the request's sequence; the target verifies; then
 * {@link #accepted} says how many drafted tokens survived and which token the target added after them. Steps without
 * speculation call neither: the session catches up on the sequence at its next {@link #propose}.
 */
public interface DraftSession extends AutoCloseable {

    /**
     * Processes the prompt (the sequence as it is when the request starts), alongside the target's prefill, so the
     * first proposal only has to catch up on the first output token. Stateless drafters do nothing.
     */
    default void prefill() {
    }

    /**
     * Proposes up to {@code maxTokens} tokens that continue the sequence (fewer, or none, when the gate stops it, the
     * drafter has no idea, or its context is full).
     */
    Draft propose(int maxTokens, DraftGate gate);

    /**
     * The target accepted the first {@code acceptedCount} tokens of the last draft and then emitted
     * {@code nextToken} (a correction or bonus token); the sequence already holds them. The session forgets the
     * rejected part of the draft (rolls back its cache).
     */
    void accepted(int acceptedCount, int nextToken);

    /** Releases the session's resources (the drafter's KV cache). */
    @Override
    void close();
}
