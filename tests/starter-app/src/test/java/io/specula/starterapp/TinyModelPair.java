package io.specula.starterapp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.specula.testing.TinyModelDirs;

/** A tiny random Qwen-style target with Qwen3's chat template and its twin as the drafter (every draft accepted). */
final class TinyModelPair {

    static final Path DIR = write();

    private TinyModelPair() {
    }

    static Path target() {
        return DIR.resolve("target");
    }

    static Path drafter() {
        return DIR.resolve("drafter");
    }

    private static Path write() {
        try {
            return TinyModelDirs.qwenTwins(Files.createDirectories(Path.of("target", "starter-app-models"))
                .toAbsolutePath(), 7);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
