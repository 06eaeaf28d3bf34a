package io.specula;

/**
 * The one error type the engine throws for problems a user can fix: a bad model file, a bad option, a request that
 * does not fit. Its message always names the file, field or option and says what was expected.
 */
public class SpeculaException extends RuntimeException {

    public SpeculaException(String message) {
        super(message);
    }

    public SpeculaException(String message, Throwable cause) {
        super(message, cause);
    }
}
