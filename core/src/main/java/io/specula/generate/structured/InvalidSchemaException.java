package io.specula.generate.structured;

import io.specula.SpeculaException;

/** A JSON schema that structured output cannot decode for; the message names where in the schema and why. */
public final class InvalidSchemaException extends SpeculaException {

    private final String pointer;
    private final String detail;

    public InvalidSchemaException(String pointer, String reason) {
        this(pointer, (pointer.isEmpty() ? "" : "at " + pointer + ": ") + reason, true);
    }

    private InvalidSchemaException(String pointer, String detail, boolean ignored) {
        super("outputSchema " + detail);
        this.pointer = pointer;
        this.detail = detail;
    }

    /** The message without the field name: where and why. */
    public String detail() {
        return detail;
    }

    /** Where in the schema (a JSON pointer; empty for the root). */
    public String pointer() {
        return pointer;
    }
}
