package io.specula.speculative.drafter;

/**
 * A drafter failed during a request (for example its logits contained NaN). The generator catches it, counts the
 * fault and finishes the request with the target alone; the output is unaffected.
 */
public class DrafterException extends RuntimeException {

    public DrafterException(String message) {
        super(message);
    }

    public DrafterException(String message, Throwable cause) {
        super(message, cause);
    }
}
