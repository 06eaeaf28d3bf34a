package io.specula.sample.chat;

import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.specula.EngineBusyException;
import io.specula.FieldError;
import io.specula.InvalidRequestException;
import io.specula.SpeculaException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

/**
 * Every error the API returns, as JSON (and as the data of the stream's {@code error} event).
 *
 * @param error   {@code invalid_request} (400), {@code busy} (503: the engine's queue is full, retry later),
 *                {@code engine_error} (500), ...
 * @param message what went wrong, for a person
 * @param field   the first field at fault, for invalid requests
 * @param errors  every field at fault, for invalid requests
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ErrorBody(String error, String message, @Nullable String field, @Nullable List<FieldError> errors) {

    static ErrorBody of(InvalidRequestException ex) {
        return new ErrorBody("invalid_request", ex.getMessage(), ex.errors().get(0).field(), ex.errors());
    }

    static ErrorBody busy(EngineBusyException ex, long retryAfterSeconds) {
        return new ErrorBody("busy", "The engine is busy (" + describe(ex) + "); retry in " + retryAfterSeconds
                + " s", null, null);
    }

    /** The {@link EngineBusyException} that {@code ex} is or was caused by, if any. */
    static @Nullable EngineBusyException busyCause(@Nullable Throwable ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof EngineBusyException busy) {
                return busy;
            }
        }
        return null;
    }

    static ErrorBody engine(Throwable ex) {
        return new ErrorBody("engine_error", "The engine could not generate an answer: " + describe(ex), null, null);
    }

    /**
     * Logs a failed generation: one line for the engine's own refusals ({@link SpeculaException}: the prompt does not
     * fit, ...), with the stack trace for anything else.
     */
    static void log(Logger logger, String what, Throwable ex) {
        if (ex instanceof SpeculaException) {
            logger.warn("{}: {}", what, describe(ex));
        }
        else {
            logger.warn("{}: {}", what, describe(ex), ex);
        }
    }

    static String describe(Throwable ex) {
        String message = ex.getMessage();
        return message != null && !message.isBlank() ? message : ex.getClass().getSimpleName();
    }
}
