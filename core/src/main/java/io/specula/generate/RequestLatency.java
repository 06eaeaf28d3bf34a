package io.specula.generate;

/**
 * How long a request waited, as its caller saw it, measured by the engine from the moment the request reached it.
 *
 * @param queueNanos             time until the request got a decoding slot (its KV cache reserved): the admission
 *                               queue's wait, plus the template and tokenizer work before it for chat requests
 * @param timeToFirstTokenNanos  time until the first output token was produced (queue, prompt processing and the
 *                               first decoding step); -1 when the request produced no token (an immediate end of
 *                               sequence, a cancelled or refused request)
 */
public record RequestLatency(long queueNanos, long timeToFirstTokenNanos) {

    /** Not measured (a result built outside the engine). */
    public static final RequestLatency NONE = new RequestLatency(-1, -1);

    public boolean hasQueueTime() {
        return queueNanos >= 0;
    }

    public boolean hasFirstToken() {
        return timeToFirstTokenNanos >= 0;
    }
}
