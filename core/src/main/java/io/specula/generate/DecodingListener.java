package io.specula.generate;

/**
 * The statistics SPI: generators report every decoding step and every finished request here. The Spring layer binds
 * it to Micrometer; the CLI's benchmark prints it. Implementations must be cheap and thread-safe; they run on the
 * decoding thread.
 */
public interface DecodingListener {

    DecodingListener NONE = new DecodingListener() { };

    /** One target pass after the prompt (a plain step has drafted == 0). */
    default void onStep(StepEvent step) {
    }

    /** A request finished (including cancelled ones). */
    default void onRequestFinished(DecodingStats stats, FinishReason reason) {
    }

    /**
     * How long a finished request waited: queue time and time to first token (see {@link RequestLatency}). Called by
     * the engine after {@link #onRequestFinished} for every request it admitted.
     */
    default void onRequestLatency(RequestLatency latency) {
    }

    /**
     * The drafter failed during a request (threw, or produced NaN logits); the request went on with the target alone
     * and its output is unaffected. Counted so a broken drafter does not go unnoticed.
     */
    default void onDrafterFault(String drafter, Throwable cause) {
    }

    /**
     * @param drafted          tokens proposed and verified in this step (the draft length γ actually used)
     * @param accepted         drafted tokens the target accepted (a prefix of the draft)
     * @param emitted          tokens this step added to the output (accepted + 1 correction/bonus, fewer at a stop)
     * @param draftNanos       time the drafter took for this step
     * @param verifyNanos      time of the target pass
     */
    record StepEvent(int drafted, int accepted, int emitted, long draftNanos, long verifyNanos) {
    }
}
