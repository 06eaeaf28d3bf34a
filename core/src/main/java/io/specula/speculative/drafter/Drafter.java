package io.specula.speculative.drafter;

/**
 * Proposes tokens for the target to verify. Thread-safe: every request opens its own {@link DraftSession}.
 * Implementations: {@link ModelDrafter} (a small model of the same family), {@link NgramDrafter} (prompt lookup).
 */
public interface Drafter extends AutoCloseable {

    /** For logs, metric tags and error messages ("ngram", or the drafter model's name). */
    String name();

    /** Opens the drafter's state for one request whose sequence so far is {@code context.sequence()}. */
    DraftSession open(DraftContext context);

    /** Releases what the drafter itself owns; a model passed in by the caller stays open. */
    @Override
    default void close() {
    }
}
