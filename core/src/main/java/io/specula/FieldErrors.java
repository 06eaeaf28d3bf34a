package io.specula;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Collects the errors of a validation, so that a caller hears of every field at fault at once rather than of the first
 * one. The rules of each layer (sampling, limits, speculation) add to the same collector; {@link #throwIfAny()} ends
 * the validation.
 */
public final class FieldErrors {

    private final List<FieldError> errors = new ArrayList<>();

    public FieldErrors add(String field, String message) {
        errors.add(new FieldError(field, message));
        return this;
    }

    /**
     * Adds "{@code expected}, got {@code value}" under {@code field} unless the value is valid. A {@code null} value
     * is "not set": there is nothing to check (the default applies).
     */
    public <T> FieldErrors check(String field, T value, Predicate<? super T> valid, String expected) {
        if (value != null && !valid.test(value)) {
            add(field, expected + ", got " + value);
        }
        return this;
    }

    public boolean isEmpty() {
        return errors.isEmpty();
    }

    /** The errors so far, in the order the rules found them. */
    public List<FieldError> list() {
        return List.copyOf(errors);
    }

    /** Ends a validation: throws an {@link InvalidRequestException} naming every field at fault, if any. */
    public void throwIfAny() {
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
    }
}
