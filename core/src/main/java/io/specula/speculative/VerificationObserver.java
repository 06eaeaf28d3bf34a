package io.specula.speculative;

import io.specula.generate.FinishReason;
import io.specula.speculative.drafter.DraftSession;

/**
 * Sees what the target decided during speculative decoding: for every output token, the target's logit row that
 * chose it (the prompt's last row for the first token, then the verification pass's rows for accepted drafts and the
 * correction/bonus token), plus the draft and acceptance counts of each step. Used by the adaptive drafter
 * ({@code io.specula.adaptive}) to learn from live traffic.
 *
 * <p>Runs on the decoding thread: implementations must be cheap (copy only what they keep, e.g. a top-k of the row)
 * and must not keep the row arrays, which belong to the generator. An exception thrown here drops the trace for the
 * rest of the request; it never changes the output.
 */
public interface VerificationObserver {

    /** Follows no request. */
    VerificationObserver NONE = (promptIds, session) -> null;

    /**
     * A request starts.
     *
     * @param promptIds the prompt (do not modify)
     * @param session   the draft session the request drafts with, or {@code null} when it has none; it tells an
     *                  observer which drafter (version) produced the drafts
     * @return a trace for this request, or {@code null} to not follow it
     */
    Trace open(int[] promptIds, DraftSession session);

    /** One request's decisions, in output order. */
    interface Trace {

        /**
         * The target's (unprocessed) logits at the position that produced output token {@code token}; the token is
         * the target's choice there (an accepted draft or its own correction/bonus/first token).
         */
        void token(float[] logits, int token);

        /** A step verified {@code drafted} tokens and accepted {@code accepted} of them (only steps with a draft). */
        default void step(int drafted, int accepted) {
        }

        /** The request ended (any reason; {@code null} when decoding failed). */
        default void close(FinishReason reason) {
        }
    }
}
