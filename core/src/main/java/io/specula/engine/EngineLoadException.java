package io.specula.engine;

import io.specula.SpeculaException;

/**
 * The engine could not be loaded, and which of its settings is at fault ({@link #setting()}), so that a caller can
 * name its own configuration key for it (the Spring layer names the property) without reading the message. The
 * message names the file and says what was expected.
 */
public class EngineLoadException extends SpeculaException {

    /** The settings of {@link EngineConfig} (and the adaptive drafter's) that a load can fail on. */
    public enum Setting {
        /** The target model directory, or its files. */
        TARGET,
        /** The drafter model directory, its files, or its vocabulary against the target's. */
        DRAFTER,
        /** The device the models run on. */
        DEVICE,
        /** The compute dtype. */
        DTYPE,
        /** The adaptive drafter (a drafter that cannot be fine-tuned). */
        ADAPTIVE
    }

    private final Setting setting;

    public EngineLoadException(Setting setting, String message, Throwable cause) {
        super(message, cause);
        this.setting = setting;
    }

    public EngineLoadException(Setting setting, String message) {
        super(message);
        this.setting = setting;
    }

    /** The setting at fault. */
    public Setting setting() {
        return setting;
    }
}
