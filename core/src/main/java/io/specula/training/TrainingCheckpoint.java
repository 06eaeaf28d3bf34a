package io.specula.training;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.model.ModelConfig;
import io.specula.model.safetensors.SafeTensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training run's work folder: {@code checkpoint-<step>.safetensors} (weights and AdamW moments, float32),
 * {@code checkpoint.json} (where the run stands, naming that file), {@code best.safetensors} (the weights of the lowest
 * validation loss) and {@code loss.csv} (one row per step). What {@link Trainer} writes as it goes and reads to resume.
 *
 * <p>A checkpoint is two files, written in two steps, so each step leaves a consistent pair: the tensors go to a new
 * file of their own (synced to disk), then {@code checkpoint.json} is replaced by a rename to name it, then the older
 * tensors are deleted. A run killed between the steps leaves the previous pair as it was (and a stray file). Resuming
 * cross-checks the pair (the step the JSON names is the step the tensors were saved at) and refuses an inconsistent
 * one, naming both files, rather than resuming from weights of another step. (Work folders of older versions have one
 * {@code checkpoint.safetensors}, overwritten in place: they are read, and cross-checked, the same way.)
 */
final class TrainingCheckpoint {

    static final String CSV_HEADER = "step,tokens,lr,train_loss,grad_norm,val_loss,val_kl,elapsed_s";

    /** The tensors file of work folders written before the pair was versioned. */
    static final String LEGACY_TENSORS = "checkpoint.safetensors";

    private final Path work;
    private final Path json;
    private final Path lossCsv;
    private final Path best;

    TrainingCheckpoint(Path work) {
        this.work = work;
        this.json = work.resolve("checkpoint.json");
        this.lossCsv = work.resolve("loss.csv");
        this.best = work.resolve("best.safetensors");
    }

    Path json() {
        return json;
    }

    Path lossCsv() {
        return lossCsv;
    }

    /** Whether a checkpoint was written (resuming cross-checks it). */
    boolean exists() {
        return Files.exists(json);
    }

    /**
     * Where a run stands.
     *
     * @param step      the last step done
     * @param tokens    training tokens seen
     * @param seconds   training time so far
     * @param adamSteps the optimiser's step count
     * @param bestLoss  the lowest validation score so far (+inf before the first evaluation)
     * @param bestStep  the step that scored it (-1 before)
     * @param model     the model's weights
     * @param optimiser the optimiser's state ({@code null} for a fresh run)
     */
    record State(int step, long tokens, double seconds, long adamSteps, float bestLoss, int bestStep,
                 Map<String, SafeTensorsFiles.Tensor> model, Map<String, SafeTensorsFiles.Tensor> optimiser) {

        static State fresh(Map<String, SafeTensorsFiles.Tensor> model) {
            return new State(0, 0, 0, 0, Float.POSITIVE_INFINITY, -1, model, null);
        }
    }

    /**
     * The saved state; the loss log keeps what happened up to it and nothing after it.
     *
     * @throws IllegalArgumentException when the checkpoint is not a consistent pair (its tensors file is missing, or
     *                                  was saved at another step), naming the files
     */
    State read(ModelShape shape) {
        JsonObject c = readJson(json);
        ModelShape savedShape = ModelShape.of(ModelConfig.parse(json, c.getAsJsonObject("config")));
        if (!savedShape.equals(shape)) {
            throw new IllegalArgumentException("the checkpoint in " + work + " is of another model shape: " + savedShape);
        }
        int step = c.get("step").getAsInt();
        Path tensors = work.resolve(c.has("tensors") ? c.get("tensors").getAsString() : LEGACY_TENSORS);
        checkPair(tensors, step);
        float bestLoss = Float.POSITIVE_INFINITY;
        int bestStep = -1;
        if (c.has("best_val_loss")) {
            bestLoss = c.get("best_val_loss").getAsFloat();
            bestStep = c.get("best_step").getAsInt();
        }
        Map<String, SafeTensorsFiles.Tensor> saved = SafeTensorsFiles.read(tensors);
        Map<String, SafeTensorsFiles.Tensor> model = new LinkedHashMap<>();
        for (String name : TrainableLlama.parameterShapes(shape).keySet()) {
            model.put(name, saved.get("model/" + name));
        }
        keepLogRows(step);
        return new State(step, c.get("tokens").getAsLong(), c.get("seconds").getAsDouble(),
                c.get("adam_steps").getAsLong(), bestLoss, bestStep, model, saved);
    }

    /** The tensors file must exist and hold the step checkpoint.json names (both are written at every checkpoint). */
    private void checkPair(Path tensors, int step) {
        String resume = "; resume from an earlier copy of the work folder, or remove it to start over";
        if (!Files.isRegularFile(tensors)) {
            throw new IllegalArgumentException("the checkpoint in " + work + " is incomplete: " + json.getFileName()
                    + " (step " + step + ") names " + tensors.getFileName() + ", which is missing" + resume);
        }
        String saved;
        try (SafeTensorsFile f = SafeTensorsFile.open(tensors)) {
            saved = f.metadata().get("step");
        }
        if (!Integer.toString(step).equals(saved)) {
            throw new IllegalArgumentException("the checkpoint in " + work + " is inconsistent: " + json.getFileName()
                    + " is at step " + step + " but " + tensors.getFileName() + " was saved at step " + saved
                    + " (a run stopped while writing its checkpoint)" + resume);
        }
    }

    /**
     * Saves where the run stands: the tensors to a file of their own, then the JSON (renamed into place) naming it,
     * each synced to disk first; then the older tensors go. Every moment leaves a consistent pair on disk.
     */
    void write(TrainableLlama model, AdamW adam, int step, long tokens, double seconds, float bestLoss, int bestStep) {
        Map<String, SafeTensorsFiles.Tensor> all = new LinkedHashMap<>();
        model.weights().forEach((k, v) -> all.put("model/" + k, v));
        adam.state().forEach((k, a) -> all.put(k, new SafeTensorsFiles.Tensor(a.getShape().getShape(), a.toFloatArray())));
        String tensorsName = "checkpoint-" + step + ".safetensors";
        Path tensors = work.resolve(tensorsName);
        SafeTensorsFiles.write(tensors, all, SafeTensorsFiles.DType.F32, Map.of("step", Integer.toString(step)));
        sync(tensors);
        JsonObject c = new JsonObject();
        c.addProperty("step", step);
        c.addProperty("tokens", tokens);
        c.addProperty("seconds", seconds);
        c.addProperty("adam_steps", adam.steps());
        if (bestStep > 0) {
            c.addProperty("best_val_loss", bestLoss);
            c.addProperty("best_step", bestStep);
        }
        c.addProperty("tensors", tensorsName);
        c.add("config", model.shape().configJson("float32", TokenData.BOS, TokenData.EOS));
        Path tmp = work.resolve("checkpoint.json.tmp");
        writeString(tmp, new GsonBuilder().setPrettyPrinting().create().toJson(c) + "\n");
        try {
            sync(tmp);
            Files.move(tmp, json, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            ModelExport.syncDirectory(work);
            // The JSON now names the new tensors: the older ones (and strays of an interrupted write) can go.
            try (var files = Files.list(work)) {
                for (Path f : files.toList()) {
                    String n = f.getFileName().toString();
                    if ((n.startsWith("checkpoint-") && n.endsWith(".safetensors") && !n.equals(tensorsName))
                            || n.equals(LEGACY_TENSORS)) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void sync(Path file) {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.force(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot sync " + file, e);
        }
    }

    /** A fresh run: the folder and an empty loss log. */
    void start() {
        try {
            Files.createDirectories(work);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        writeString(lossCsv, CSV_HEADER + "\n");
    }

    void log(String row) {
        try {
            Files.writeString(lossCsv, row, StandardCharsets.UTF_8, StandardOpenOption.APPEND,
                    StandardOpenOption.CREATE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + lossCsv, e);
        }
    }

    void writeBest(Map<String, SafeTensorsFiles.Tensor> weights, int step) {
        SafeTensorsFiles.write(best, weights, SafeTensorsFiles.DType.F32, Map.of("step", Integer.toString(step)));
    }

    /** The best weights, if they were saved. */
    Map<String, SafeTensorsFiles.Tensor> readBest() {
        return Files.exists(best) ? SafeTensorsFiles.read(best) : null;
    }

    /** After a resume, the log keeps what happened up to the checkpoint and nothing after it. */
    private void keepLogRows(int step) {
        List<String> kept = new ArrayList<>();
        kept.add(CSV_HEADER);
        if (Files.exists(lossCsv)) {
            try {
                for (String line : Files.readAllLines(lossCsv, StandardCharsets.UTF_8)) {
                    if (line.isEmpty() || line.startsWith("step")) {
                        continue;
                    }
                    if (Integer.parseInt(line.substring(0, line.indexOf(','))) <= step) {
                        kept.add(line);
                    }
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        writeString(lossCsv, String.join("\n", kept) + "\n");
    }

    static JsonObject readJson(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static void writeString(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
