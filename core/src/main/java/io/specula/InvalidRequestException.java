package io.specula;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A request the engine refuses before doing any work because fields of it break a rule: every such field is named
 * ({@link #errors()}), and the message is "field: what was expected; field: ...". An HTTP layer maps this to 400.
 */
public class InvalidRequestException extends SpeculaException {

    private final List<FieldError> errors;

    public InvalidRequestException(List<FieldError> errors) {
        super(errors.stream().map(FieldError::describe).collect(Collectors.joining("; ")));
        if (errors.isEmpty()) {
            throw new IllegalArgumentException("an invalid request names at least one field");
        }
        this.errors = List.copyOf(errors);
    }

    public InvalidRequestException(String field, String message) {
        this(List.of(new FieldError(field, message)));
    }

    /** Every field at fault, in the order the rules found them. */
    public List<FieldError> errors() {
        return errors;
    }
}
