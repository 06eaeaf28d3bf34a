package io.specula;


/**
 * The engine refused a request because it is saturated: the admission queue was full, or the request waited longer
 * than the queue timeout. The request did no work; it may be retried later (an HTTP layer maps this to 503 or 429).
 * The message names the limit that was hit.
 */
public class EngineBusyException extends SpeculaException {

    /** Which limit refused the request. */
    public enum Reason {
        /** {@code maxQueuedRequests} requests were already waiting. */
        QUEUE_FULL,
        /** The request waited {@code queueTimeout} without getting a slot. */
        QUEUE_TIMEOUT
    }

    private final Reason reason;

    public EngineBusyException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
