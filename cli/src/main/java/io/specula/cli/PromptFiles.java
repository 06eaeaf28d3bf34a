package io.specula.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Prompt lists: one prompt per line, or prompts cut from a text. */
final class PromptFiles {

    private PromptFiles() {
    }

    /** The non-blank lines of {@code file}. */
    static List<String> lines(Path file, String option) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip)
                    .filter(s -> !s.isEmpty()).toList();
            if (lines.isEmpty()) {
                throw new IllegalArgumentException(option + " " + file + ": no prompt in the file (one per line)");
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException(option + " " + file + ": " + e.getMessage(), e);
        }
    }

    /** {@code n} prompts of {@code words} words cut at evenly spaced word positions of a text file. */
    static List<String> cut(Path file, int n, int words) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        String[] w = text.replaceAll("\\s+", " ").strip().split(" ");
        if (w.length < words) {
            throw new IllegalArgumentException(file + " has fewer than " + words + " words");
        }
        List<String> out = new ArrayList<>();
        int stride = Math.max(1, (w.length - words) / n);
        for (int i = 0; i < n; i++) {
            int at = Math.min(i * stride, w.length - words);
            out.add(String.join(" ", Arrays.copyOfRange(w, at, at + words)));
        }
        return out;
    }
}
