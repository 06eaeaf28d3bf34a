package io.specula.starterapp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

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
            Path dir = Files.createDirectories(Path.of("target", "starter-app-models")).toAbsolutePath();
            int bos = TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, "<|endoftext|>");
            for (String name : List.of("target", "drafter")) {
                TinyModelDirs.write(dir.resolve(name), TinyModels.Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL,
                        ChatTemplateKind.QWEN, spec -> spec.seed(7).bos(bos));
            }
            return dir;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
