package io.specula;

/**
 * One field of a request (or of a configuration) that a rule refused.
 *
 * @param field   the field's name as the rule knows it, a path where it helps: {@code temperature},
 *                {@code stopSequences[1]}; callers with another naming (JSON, properties) map it
 * @param message what was expected, and what was given
 */
public record FieldError(String field, String message) {

    /** "field: message", the form every error message of Specula takes. */
    public String describe() {
        return field + ": " + message;
    }
}
