package io.specula.sample.chat;

import java.util.List;
import java.util.stream.Collectors;

/** A request the sample refuses with 400 Bad Request: each error names the field at fault. */
public class InvalidRequestException extends RuntimeException {

    private final List<FieldError> errors;

    public InvalidRequestException(List<FieldError> errors) {
        super(errors.stream().map(FieldError::describe).collect(Collectors.joining("; ")));
        this.errors = List.copyOf(errors);
    }

    public InvalidRequestException(String field, String message) {
        this(List.of(new FieldError(field, message)));
    }

    public List<FieldError> errors() {
        return this.errors;
    }

    /**
     * One refused field.
     *
     * @param field   JSON path of the field, for example {@code options.temperature}
     * @param message what was expected
     */
    public record FieldError(String field, String message) {

        String describe() {
            return this.field + ": " + this.message;
        }
    }
}
