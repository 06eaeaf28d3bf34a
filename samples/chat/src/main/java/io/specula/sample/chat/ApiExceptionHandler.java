package io.specula.sample.chat;

import java.time.Duration;
import java.util.List;

import io.specula.EngineBusyException;
import io.specula.InvalidRequestException;
import io.specula.autoconfigure.SpeculaEngineProperties;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamReadException;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Errors of the API as RFC 9457 problems ({@link ErrorBody}, {@code application/problem+json}): 400 for a request the sample refuses (naming the field), 503 with a
 * {@code Retry-After} header when the engine's admission queue refuses the request ({@link EngineBusyException}, also
 * as the cause of another exception, and for the stream when it is refused before its first event), 500 for a
 * generation the engine could not complete. Nothing here stops the application: the next request is served as usual.
 */
@RestControllerAdvice(assignableTypes = ChatController.class)
public class ApiExceptionHandler {

    private static final Logger logger = LoggerFactory.getLogger(ApiExceptionHandler.class);

    /** Bounds of the Retry-After derived from the queue timeout. */
    static final long MIN_RETRY_AFTER_SECONDS = 1;

    static final long MAX_RETRY_AFTER_SECONDS = 60;

    private final long retryAfterSeconds;

    public ApiExceptionHandler(SampleProperties properties, ObjectProvider<SpeculaEngineProperties> engine) {
        SpeculaEngineProperties engineProperties = engine.getIfAvailable();
        this.retryAfterSeconds = retryAfterSeconds(properties.getBusyRetryAfter(),
                engineProperties != null ? engineProperties.getQueueTimeout() : null);
    }

    /**
     * The Retry-After of a busy answer: {@code specula.sample.busy-retry-after} when set, else the engine's queue
     * timeout, kept within 1..60 s. Why the queue timeout: a refused request would have waited at most that long for a
     * slot; by then every request that was queued when it was refused has been admitted or refused in turn, so the
     * retry does not compete with the queue that turned it away. The bounds keep a client from retrying in a busy loop
     * (0 s) or staying away for minutes because of a long queue timeout.
     */
    static long retryAfterSeconds(@Nullable Duration configured, @Nullable Duration queueTimeout) {
        if (configured != null) {
            return Math.max(MIN_RETRY_AFTER_SECONDS, ceilSeconds(configured));
        }
        long seconds = queueTimeout != null ? ceilSeconds(queueTimeout) : MAX_RETRY_AFTER_SECONDS / 2;
        return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(MIN_RETRY_AFTER_SECONDS, seconds));
    }

    private static long ceilSeconds(Duration duration) {
        return (duration.toMillis() + 999) / 1000;
    }

    /** The engine refused the request before doing any work: 503, retry later. */
    @ExceptionHandler
    ResponseEntity<ProblemDetail> busy(EngineBusyException ex) {
        logger.debug("Request refused: {}", ErrorBody.describe(ex));
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE)
            .header(HttpHeaders.RETRY_AFTER, Long.toString(this.retryAfterSeconds))
            .contentType(MediaType.APPLICATION_PROBLEM_JSON)
            .body(ErrorBody.busy(ex, this.retryAfterSeconds));
    }

    @ExceptionHandler
    ResponseEntity<ProblemDetail> invalidRequest(InvalidRequestException ex) {
        return json(HttpStatus.BAD_REQUEST, ErrorBody.of(ex));
    }

    /**
     * JSON that does not parse, or a value of the wrong type: the message names the field when Jackson knows it. A
     * body sent without a length that went past the size limit: 413.
     */
    @ExceptionHandler
    ResponseEntity<ProblemDetail> unreadable(HttpMessageNotReadableException ex) {
        for (Throwable t = ex; t != null; t = t.getCause()) {
            if (t instanceof RequestSizeLimit.TooLarge tooLarge) {
                return json(HttpStatus.CONTENT_TOO_LARGE, ErrorBody.problem(HttpStatus.CONTENT_TOO_LARGE,
                        "request_too_large", "Request too large", tooLarge.getMessage()));
            }
        }
        InvalidRequestException invalid;
        if (ex.getCause() instanceof JacksonException jackson && !(jackson instanceof StreamReadException)) {
            String field = path(jackson.getPath());
            invalid = new InvalidRequestException(field.isEmpty() ? "body" : field,
                    field.isEmpty() ? "expected a JSON object {\"prompt\": \"...\", \"options\": {...}}"
                            : "invalid value: " + jackson.getOriginalMessage());
        }
        else if (ex.getCause() instanceof JacksonException jackson) {
            invalid = new InvalidRequestException("body", "malformed JSON: " + jackson.getOriginalMessage());
        }
        else {
            invalid = new InvalidRequestException("body",
                    "expected a JSON object {\"prompt\": \"...\", \"options\": {...}}");
        }
        return json(HttpStatus.BAD_REQUEST, ErrorBody.of(invalid));
    }

    /** Spring MVC's own errors (405, 406, async timeouts, ...) keep their status. */
    @ExceptionHandler
    ResponseEntity<ProblemDetail> framework(ErrorResponseException ex) {
        HttpStatusCode status = ex.getStatusCode();
        String detail = ex.getBody().getDetail();
        return json(status, ErrorBody.problem(status, "request_error", "Request error",
                detail != null ? detail : status.toString()));
    }

    /** The engine failed: a clear message, logged with its stack trace (or busy, as the cause of another error). */
    @ExceptionHandler
    ResponseEntity<ProblemDetail> engineError(RuntimeException ex) {
        EngineBusyException busy = ErrorBody.busyCause(ex);
        if (busy != null) {
            return busy(busy);
        }
        ErrorBody.log(logger, "Generation failed", ex);
        return json(HttpStatus.INTERNAL_SERVER_ERROR, ErrorBody.engine(ex));
    }

    /**
     * Always application/problem+json, also for a client of the stream that accepts only text/event-stream (as
     * browsers' fetch of the page does): a preset content type is not negotiated.
     */
    private static ResponseEntity<ProblemDetail> json(HttpStatusCode status, ProblemDetail body) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON).body(body);
    }

    /** A JSON path such as {@code options.stop[1]}. */
    static String path(List<JacksonException.Reference> references) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference reference : references) {
            if (reference.getPropertyName() != null) {
                if (!path.isEmpty()) {
                    path.append('.');
                }
                path.append(reference.getPropertyName());
            }
            else if (reference.getIndex() >= 0) {
                path.append('[').append(reference.getIndex()).append(']');
            }
        }
        return path.toString();
    }
}
