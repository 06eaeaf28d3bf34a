package io.specula.sample.chat;

import java.net.URI;
import java.util.List;

import io.specula.EngineBusyException;
import io.specula.FieldError;
import io.specula.InvalidRequestException;
import io.specula.SpeculaException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;

import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;

/**
 * Every error the API returns, as an RFC 9457 problem ({@code application/problem+json}; also the data of the
 * stream's {@code error} event): {@code type} (a URN naming the kind of error), {@code title}, {@code status},
 * {@code detail} (what went wrong, for a person) and the extension members
 * <ul>
 *   <li>{@code error}: {@code invalid_request} (400), {@code busy} (503: the engine's queue is full, retry later),
 *       {@code engine_error} (500), {@code request_error} (Spring MVC's own errors);</li>
 *   <li>{@code field}: the first field at fault, and {@code errors}: every field at fault ({@code field},
 *       {@code message}), for invalid requests.</li>
 * </ul>
 * Before RFC 9457 the body was {@code {error, message, field, errors}}: {@code message} is now {@code detail}.
 */
final class ErrorBody {

    /** The URN prefix of the problem types: {@code urn:specula:problem:invalid_request}, ... */
    static final String TYPE_PREFIX = "urn:specula:problem:";

    private ErrorBody() {
    }

    static ProblemDetail problem(HttpStatusCode status, String error, String title, String detail) {
        ProblemDetail problem = ProblemDetail.forStatusAndDetail(status, detail);
        problem.setType(URI.create(TYPE_PREFIX + error));
        problem.setTitle(title);
        problem.setProperty("error", error);
        return problem;
    }

    static ProblemDetail of(InvalidRequestException ex) {
        ProblemDetail problem = problem(HttpStatus.BAD_REQUEST, "invalid_request", "Invalid request", ex.getMessage());
        List<FieldError> errors = ex.errors();
        problem.setProperty("field", errors.get(0).field());
        problem.setProperty("errors", errors);
        return problem;
    }

    static ProblemDetail busy(EngineBusyException ex, long retryAfterSeconds) {
        return problem(HttpStatus.SERVICE_UNAVAILABLE, "busy", "Engine busy",
                "The engine is busy (" + describe(ex) + "); retry in " + retryAfterSeconds + " s");
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

    static ProblemDetail engine(Throwable ex) {
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "engine_error", "Generation failed",
                "The engine could not generate an answer: " + describe(ex));
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
