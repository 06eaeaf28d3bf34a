package io.specula.generate;

/** Why generation ended. */
public enum FinishReason {
    /** An end-of-sequence token or a stop sequence. */
    STOP,
    /** The token limit (max tokens, or the context window). */
    LENGTH,
    /** The caller cancelled (for example a streaming client went away). */
    CANCELLED
}
