package io.specula.training;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * Writes a trained model in the Hugging Face layout the engine loads: config.json, model.safetensors,
 * generation_config.json and the tokenizer files, plus training_info.json and training_log.csv.
 */
public final class ModelExport {

    private ModelExport() {
    }

    /** Files that mark a folder as a model this project exported: the training run's or the adaptive drafter's. */
    private static final List<String> EXPORT_MARKERS = List.of("training_info.json", "adaptive.json");

    /** Files of a model folder (the ones an export writes, and the tokenizer it copies). */
    private static final java.util.Set<String> MODEL_FILES = java.util.Set.of("config.json", "generation_config.json",
            "model.safetensors", "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "chat_template.jinja", "training_info.json", "training_log.csv",
            "adaptive.json");

    /**
     * The rule of an output folder that an export writes or replaces: it must not exist, be empty, hold only the files
     * of a model folder (config.json, model.safetensors, tokenizer files, ...), or be a model this project exported
     * before (config.json, model.safetensors and training_info.json or adaptive.json); and it must not be the working
     * directory or hold it. Anything else is refused, so an export never overwrites or deletes a folder of the user's
     * ({@code distill --out .} once emptied the working directory).
     *
     * @param option how the folder was given, for the message (e.g. {@code --out})
     * @throws IllegalArgumentException naming the option and the folder when it may not be used
     */
    public static void checkOutputFolder(Path dir, String option) {
        Path abs = dir.toAbsolutePath().normalize();
        Path cwd = Path.of("").toAbsolutePath().normalize();
        if (cwd.startsWith(abs)) {
            throw new IllegalArgumentException(option + " " + dir + ": is the working directory or holds it; choose a"
                    + " new or empty folder for the model");
        }
        if (!Files.exists(abs)) {
            return;
        }
        if (!Files.isDirectory(abs)) {
            throw new IllegalArgumentException(option + " " + dir + ": is a file, not a folder");
        }
        try (var entries = Files.list(abs)) {
            if (entries.allMatch(p -> Files.isRegularFile(p) && MODEL_FILES.contains(p.getFileName().toString()))) {
                return;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + abs, e);
        }
        boolean previousExport = Files.isRegularFile(abs.resolve("config.json"))
                && Files.isRegularFile(abs.resolve("model.safetensors"))
                && EXPORT_MARKERS.stream().anyMatch(m -> Files.isRegularFile(abs.resolve(m)));
        if (!previousExport) {
            throw new IllegalArgumentException(option + " " + dir + ": the folder is not empty and is not a model "
                    + "exported before (config.json, model.safetensors and " + String.join(" or ", EXPORT_MARKERS)
                    + "); its files would be overwritten or deleted: choose a new or empty folder");
        }
    }

    /** Forces every file under {@code dir}, and the folders themselves, to disk. */
    public static void syncTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                if (Files.isRegularFile(p)) {
                    try (FileChannel channel = FileChannel.open(p, StandardOpenOption.WRITE)) {
                        channel.force(true);
                    }
                } else if (Files.isDirectory(p)) {
                    syncDirectory(p);
                }
            }
        }
    }

    /**
     * Forces a folder's entries (created, renamed files) to disk, where the platform allows it (Linux does; elsewhere
     * opening a folder may fail, and the rename's own guarantees are all there is).
     */
    public static void syncDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // Not supported for folders here (e.g. Windows): nothing more can be done.
        }
    }

    public static void write(Path dir, ModelShape shape, Map<String, SafeTensorsFiles.Tensor> weights,
                             SafeTensorsFiles.DType dtype, Path tokenizerDir, JsonObject info, Path lossLog) {
        try {
            Files.createDirectories(dir);
            var gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
            Files.writeString(dir.resolve("config.json"),
                    gson.toJson(shape.configJson(dtype.torchName(), TokenData.BOS, TokenData.EOS)) + "\n", StandardCharsets.UTF_8);
            JsonObject gen = new JsonObject();
            gen.addProperty("bos_token_id", TokenData.BOS);
            gen.addProperty("eos_token_id", TokenData.EOS);
            gen.addProperty("max_length", shape.maxPositions());
            Files.writeString(dir.resolve("generation_config.json"), gson.toJson(gen) + "\n", StandardCharsets.UTF_8);
            SafeTensorsFiles.write(dir.resolve("model.safetensors"), weights, dtype, Map.of());
            if (!tokenizerDir.toAbsolutePath().normalize().equals(dir.toAbsolutePath().normalize())) {
                TokenizerFiles.copy(tokenizerDir, dir);
            }
            if (info != null) {
                Files.writeString(dir.resolve("training_info.json"), gson.toJson(info) + "\n", StandardCharsets.UTF_8);
            }
            if (lossLog != null && Files.exists(lossLog)) {
                Files.copy(lossLog, dir.resolve("training_log.csv"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot export the model to " + dir, e);
        }
    }
}
