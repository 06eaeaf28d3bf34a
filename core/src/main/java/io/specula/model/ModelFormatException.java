package io.specula.model;

import io.specula.SpeculaException;

import java.nio.file.Path;

/** A model directory that cannot be loaded: the message names the file (and tensor or field) and what was expected. */
public class ModelFormatException extends SpeculaException {

    public ModelFormatException(Path file, String message) {
        super(file + ": " + message);
    }

    public ModelFormatException(Path file, String message, Throwable cause) {
        super(file + ": " + message, cause);
    }
}
