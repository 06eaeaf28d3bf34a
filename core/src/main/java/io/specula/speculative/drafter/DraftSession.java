package io.specula.speculative.drafter;

/**
 * A drafter's state for one request (its KV cache, for a model drafter). Used by one decoding thread.
 *
 * <p>Protocol per step: {@link #propose} drafts continuing the request's sequence; the target verifies; then
 * {@link #accepted} says how many drafted tokens survived and which token the target added after them. Steps without
 * speculation call neither: the session catches up on the sequence at its next {@link #propose}. Nothing is processed
 * before the first proposal, not even the prompt: a request whose policy never drafts pays nothing for its drafter.
 */
public interface DraftSession extends AutoCloseable {

    /**
     * Proposes up to {@code maxTokens} tokens that continue the sequence (fewer, or none, when the gate stops it, the
     * drafter has no idea, or its context is full).
     */
    Draft propose(int maxTokens, DraftGate gate);

    /**
     * Tokens of the sequence this session has not processed yet: what its next {@link #propose} has to catch up on
     * before drafting (the whole sequence before the first proposal, 1 or 2 in steady state, more after plain steps).
     * 0 for a drafter that keeps no state (n-gram lookup). The draft policy prices that catch-up.
     */
    default int backlog() {
        return 0;
    }

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
