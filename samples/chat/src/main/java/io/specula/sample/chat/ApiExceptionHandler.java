package io.specula.sample.chat;

import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamReadException;

import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.ErrorResponseException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;

/**
 * Errors of the API as JSON {@link ErrorBody}: 400 for a request the sample refuses (naming the field), 500 for a
 * generation the engine could not complete. Nothing here stops the application: the next request is served as usual.
 */
@RestControllerAdvice(assignableTypes = ChatController.class)
public class ApiExceptionHandler {

    private static final Logger logger = LoggerFactory.getLogger(ApiExceptionHandler.class);

    @ExceptionHandler
    ResponseEntity<ErrorBody> invalidRequest(InvalidRequestException ex) {
        return json(HttpStatus.BAD_REQUEST, ErrorBody.of(ex));
    }

    /** JSON that does not parse, or a value of the wrong type: the message names the field when Jackson knows it. */
    @ExceptionHandler
    ResponseEntity<ErrorBody> unreadable(HttpMessageNotReadableException ex) {
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
    ResponseEntity<ErrorBody> framework(ErrorResponseException ex) {
        HttpStatusCode status = ex.getStatusCode();
        String detail = ex.getBody().getDetail();
        return json(status, new ErrorBody("request_error", detail != null ? detail : status.toString(), null, null));
    }

    /** The engine failed: a clear message, logged with its stack trace. */
    @ExceptionHandler
    ResponseEntity<ErrorBody> engineError(RuntimeException ex) {
        ErrorBody.log(logger, "Generation failed", ex);
        return json(HttpStatus.INTERNAL_SERVER_ERROR, ErrorBody.engine(ex));
    }

    /**
     * Always JSON, also for a client of the stream that accepts only text/event-stream (as browsers' fetch of the
     * page does): a preset content type is not negotiated.
     */
    private static ResponseEntity<ErrorBody> json(HttpStatusCode status, ErrorBody body) {
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_JSON).body(body);
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
