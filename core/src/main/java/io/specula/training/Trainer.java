package io.specula.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.model.ModelConfig;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a Llama model with DJL's autograd: pretraining (cross-entropy on the corpus) or distillation (KL from a
 * teacher's next-token distributions, the teacher run without gradients). AdamW, linear warm-up then cosine decay,
 * gradient clipping, seeded batches; a progress line, periodic validation and checkpoints, {@code resume} from the
 * last checkpoint, and an export in the Hugging Face layout at the end.
 *
 * <p>The work folder holds {@code checkpoint.safetensors} (weights and AdamW moments, float32),
 * {@code checkpoint.json}, {@code best.safetensors} (the weights of the lowest validation loss) and {@code loss.csv}.
 */
public final class Trainer {

    static final String CSV_HEADER = "step,tokens,lr,train_loss,grad_norm,val_loss,val_kl,elapsed_s";

    /** What a run achieved. {@code validKl} is NaN for pretraining. */
    public record Result(Path out, int steps, long tokens, float trainLoss, float validLoss, float validKl,
                         double seconds, double tokensPerSecond, boolean finished) {
    }

    private final TrainingOptions o;
    private final PrintStream err;
    private final boolean console;

    public Trainer(TrainingOptions options, PrintStream err, boolean console) {
        this.o = options;
        this.err = err;
        this.console = console;
    }

    public Result run() {
        if (o.shape == null || o.out == null || o.train == null || o.valid == null) {
            throw new IllegalArgumentException("shape, out, train and valid are required");
        }
        if (o.seqLen > o.shape.maxPositions()) {
            throw new IllegalArgumentException("sequence length " + o.seqLen + " exceeds max positions " + o.shape.maxPositions());
        }
        Path work = o.workDir();
        Path ckptJson = work.resolve("checkpoint.json");
        Path ckptTensors = work.resolve("checkpoint.safetensors");
        Path lossCsv = work.resolve("loss.csv");
        boolean haveCheckpoint = Files.exists(ckptJson) && Files.exists(ckptTensors);
        if (haveCheckpoint && !o.resume) {
            throw new IllegalArgumentException("a checkpoint exists in " + work + ": pass --resume to continue it, or"
                    + " remove the folder to start over");
        }
        Path tokenizerDir = o.tokenizerDir();
        long t0 = System.nanoTime();
        TokenData train = TokenData.encode(o.train, tokenizerDir);
        TokenData valid = TokenData.encode(o.valid, tokenizerDir);
        if (Math.max(train.maxId(), valid.maxId()) >= o.shape.vocabSize()) {
            throw new IllegalArgumentException("the tokenizer makes ids up to " + Math.max(train.maxId(), valid.maxId())
                    + " but the model's vocabulary is " + o.shape.vocabSize());
        }
        List<TokenData.Window> evalWindows = valid.evaluationWindows(o.seqLen, o.evalWindows);
        message(String.format(Locale.ROOT, "%s: %,d parameters (%d layers, hidden %d, vocab %d); corpus %,d training"
                        + " tokens, %,d validation tokens in %d windows (%.1f s to tokenize)",
                o.distilling() ? "distill" : "pretrain", o.shape.parameterCount(), o.shape.numLayers(),
                o.shape.hiddenSize(), o.shape.vocabSize(), train.size(), valid.size(), evalWindows.size(),
                (System.nanoTime() - t0) / 1e9));

        try (NDManager manager = NDManager.newBaseManager()) {
            TrainableLlama teacher = null;
            if (o.distilling()) {
                ModelShape ts = ModelShape.of(ModelConfig.read(o.teacher));
                if (ts.vocabSize() != o.shape.vocabSize()) {
                    throw new IllegalArgumentException("teacher vocabulary " + ts.vocabSize() + " differs from the student's "
                            + o.shape.vocabSize());
                }
                teacher = TrainableLlama.of(ts, SafeTensorsFiles.read(o.teacher.resolve("model.safetensors")), manager);
                message(String.format(Locale.ROOT, "teacher: %s, %,d parameters", o.teacher, ts.parameterCount()));
            }

            int startStep = 0;
            long tokens = 0;
            double priorSeconds = 0;
            float bestVal = Float.POSITIVE_INFINITY;
            int bestStep = -1;
            Map<String, SafeTensorsFiles.Tensor> weights;
            Map<String, SafeTensorsFiles.Tensor> saved = null;
            long adamSteps = 0;
            if (haveCheckpoint) {
                JsonObject c = readJson(ckptJson);
                ModelShape savedShape = ModelShape.of(ModelConfig.parse(ckptJson, c.getAsJsonObject("config")));
                if (!savedShape.equals(o.shape)) {
                    throw new IllegalArgumentException("the checkpoint in " + work + " is of another model shape: " + savedShape);
                }
                startStep = c.get("step").getAsInt();
                tokens = c.get("tokens").getAsLong();
                priorSeconds = c.get("seconds").getAsDouble();
                adamSteps = c.get("adam_steps").getAsLong();
                if (c.has("best_val_loss")) {
                    bestVal = c.get("best_val_loss").getAsFloat();
                    bestStep = c.get("best_step").getAsInt();
                }
                saved = SafeTensorsFiles.read(ckptTensors);
                weights = new LinkedHashMap<>();
                for (String name : TrainableLlama.parameterShapes(o.shape).keySet()) {
                    weights.put(name, saved.get("model/" + name));
                }
                keepCsvRows(lossCsv, startStep);
                message("resuming from step " + startStep + " (" + ckptJson + ")");
            } else {
                if (o.resume) {
                    message("no checkpoint in " + work + ": starting from step 0");
                }
                weights = o.initFrom != null ? SafeTensorsFiles.read(o.initFrom.resolve("model.safetensors"))
                        : TrainableLlama.initialWeights(o.shape, o.seed);
                createDirectories(work);
                writeString(lossCsv, CSV_HEADER + "\n");
            }
            if (startStep >= o.steps) {
                message("the checkpoint is already at step " + startStep + " of " + o.steps + ": exporting it");
            }

            TrainableLlama model = TrainableLlama.of(o.shape, weights, manager);
            model.trainable();
            AdamW adam = new AdamW(model.parameters(), manager, o.beta1, o.beta2, o.eps, o.weightDecay);
            if (saved != null) {
                adam.restore(saved, adamSteps);
                saved = null;
            }
            weights = null;

            Progress progress = new Progress(err, startStep, o.steps, o.logEvery, console);
            long runStart = System.nanoTime();
            long runTokens = 0;
            float lastLoss = Float.NaN;
            float[] lastEval = null;
            int lastEvalStep = -1;
            for (int step = startStep + 1; step <= o.steps; step++) {
                float lr = AdamW.learningRate(step, o.steps, o.warmupSteps, o.learningRate, o.minLrRatio);
                float loss;
                float gradNorm;
                try (NDScope scope = new NDScope()) {
                    TokenData.Window[] batch = train.batch(o.seed, step, o.batchSize, o.seqLen);
                    NDArray ids = TrainableLlama.ids(manager, inputs(batch));
                    NDArray targets = TrainableLlama.ids(manager, targets(batch));
                    NDArray teacherLogits = teacher != null ? teacher.forward(ids) : null;
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray logits = model.forward(ids, o.dropout, o.seed * 1_000_003L + step);
                        NDArray lossArray = objective(logits, teacherLogits, targets);
                        gc.backward(lossArray);
                        loss = lossArray.getFloat();
                    }
                    gradNorm = adam.step(lr, o.clip);
                }
                if (!Float.isFinite(loss)) {
                    throw new IllegalStateException("the loss is " + loss + " at step " + step
                            + ": lower the learning rate, or resume from the last checkpoint");
                }
                lastLoss = loss;
                long stepTokens = (long) o.batchSize * o.seqLen;
                tokens += stepTokens;
                runTokens += stepTokens;
                double elapsed = priorSeconds + (System.nanoTime() - runStart) / 1e9;
                String evalText = "";
                float[] eval = null;
                if (step % o.evalEvery == 0 || step == o.steps) {
                    eval = evaluate(model, teacher, evalWindows, manager);
                    lastEval = eval;
                    lastEvalStep = step;
                    evalText = String.format(Locale.ROOT, "validation loss %.4f (perplexity %.1f)%s", eval[0],
                            Math.exp(eval[0]), o.distilling() ? String.format(Locale.ROOT, ", KL %.4f", eval[1]) : "");
                    float score = o.distilling() ? eval[1] : eval[0];
                    if (score < bestVal) {
                        bestVal = score;
                        bestStep = step;
                        if (o.exportBest) {
                            SafeTensorsFiles.write(work.resolve("best.safetensors"), model.weights(),
                                    SafeTensorsFiles.DType.F32, Map.of("step", Integer.toString(step)));
                        }
                    }
                }
                appendString(lossCsv, String.format(Locale.ROOT, "%d,%d,%.6g,%.6f,%.6f,%s,%s,%.1f%n", step, tokens, lr,
                        loss, gradNorm, eval == null ? "" : String.format(Locale.ROOT, "%.6f", eval[0]),
                        eval == null || !o.distilling() ? "" : String.format(Locale.ROOT, "%.6f", eval[1]), elapsed));
                progress.step(step, runTokens, loss, lr, null);
                if (eval != null) {
                    message("step " + step + ": " + evalText);
                }
                boolean stop = step < o.steps && ((o.stopAfterStep > 0 && step >= o.stopAfterStep)
                        || (o.timeLimitMinutes > 0 && (System.nanoTime() - runStart) / 60e9 >= o.timeLimitMinutes));
                if (step % o.checkpointEvery == 0 || step == o.steps || stop) {
                    writeCheckpoint(work, model, adam, step, tokens, elapsed, bestVal, bestStep);
                }
                if (stop) {
                    message("stopped after step " + step + " of " + o.steps + "; continue with --resume ("
                            + work.resolve("checkpoint.json") + ")");
                    double runSeconds = (System.nanoTime() - runStart) / 1e9;
                    adam.close();
                    model.close();
                    if (teacher != null) {
                        teacher.close();
                    }
                    return new Result(o.out, step, tokens, lastLoss, Float.NaN, Float.NaN, elapsed,
                            runTokens / Math.max(1e-9, runSeconds), false);
                }
            }
            double runSeconds = (System.nanoTime() - runStart) / 1e9;
            double totalSeconds = priorSeconds + runSeconds;

            if (lastEvalStep != o.steps || lastEval == null) {
                lastEval = evaluate(model, teacher, evalWindows, manager);
            }
            Map<String, SafeTensorsFiles.Tensor> export = model.weights();
            int exportStep = o.steps;
            float exportScore = o.distilling() ? lastEval[1] : lastEval[0];
            float[] exportEval = lastEval;
            Path best = work.resolve("best.safetensors");
            if (o.exportBest && bestStep > 0 && bestStep != o.steps && bestVal < exportScore && Files.exists(best)) {
                export = SafeTensorsFiles.read(best);
                exportStep = bestStep;
                try (TrainableLlama bestModel = TrainableLlama.of(o.shape, export, manager)) {
                    exportEval = evaluate(bestModel, teacher, evalWindows, manager);
                }
                message("exporting the weights of step " + bestStep + ", whose validation loss was the lowest");
            }
            JsonObject info = new JsonObject();
            info.addProperty("kind", o.distilling() ? "distill" : "pretrain");
            info.addProperty("step", exportStep);
            info.addProperty("steps", o.steps);
            info.addProperty("tokens_seen", tokens);
            info.addProperty("parameters", o.shape.parameterCount());
            info.addProperty("validation_loss", exportEval[0]);
            info.addProperty("validation_perplexity", Math.exp(exportEval[0]));
            if (o.distilling()) {
                info.addProperty("validation_kl_from_teacher", exportEval[1]);
                info.addProperty("teacher", o.teacher.toString());
                info.addProperty("temperature", o.temperature);
                info.addProperty("hard_label_weight", o.hardLabelWeight);
            }
            info.addProperty("final_train_loss", lastLoss);
            info.addProperty("training_seconds", Math.round(totalSeconds));
            info.addProperty("tokens_per_second_this_run", Math.round(runTokens / Math.max(1e-9, runSeconds)));
            info.addProperty("train_corpus", o.train.toString());
            info.addProperty("valid_corpus", o.valid.toString());
            info.addProperty("train_tokens", train.size());
            info.addProperty("valid_tokens", valid.size());
            info.addProperty("seq_len", o.seqLen);
            info.addProperty("batch_size", o.batchSize);
            info.addProperty("learning_rate", o.learningRate);
            info.addProperty("min_lr_ratio", o.minLrRatio);
            info.addProperty("warmup_steps", o.warmupSteps);
            info.addProperty("weight_decay", o.weightDecay);
            info.addProperty("dropout", o.dropout);
            info.addProperty("clip", o.clip);
            info.addProperty("seed", o.seed);
            ModelExport.write(o.out, o.shape, export, o.exportDtype, tokenizerDir, info, lossCsv);
            message(String.format(Locale.ROOT, "exported %s (%s): validation loss %.4f, perplexity %.1f%s",
                    o.out, o.exportDtype.torchName(), exportEval[0], Math.exp(exportEval[0]),
                    o.distilling() ? String.format(Locale.ROOT, ", KL from teacher %.4f", exportEval[1]) : ""));
            adam.close();
            model.close();
            if (teacher != null) {
                teacher.close();
            }
            return new Result(o.out, o.steps, tokens, lastLoss, exportEval[0], o.distilling() ? exportEval[1] : Float.NaN,
                    totalSeconds, runTokens / Math.max(1e-9, runSeconds), true);
        }
    }

    private NDArray objective(NDArray logits, NDArray teacherLogits, NDArray targets) {
        if (teacherLogits == null) {
            return TrainableLlama.crossEntropy(logits, targets);
        }
        NDArray kl = TrainableLlama.klDivergence(teacherLogits, logits, o.temperature);
        return o.hardLabelWeight > 0 ? kl.add(TrainableLlama.crossEntropy(logits, targets).muli(o.hardLabelWeight)) : kl;
    }

    /** Mean cross-entropy on the validation windows and, when distilling, mean KL(teacher || model). */
    private float[] evaluate(TrainableLlama model, TrainableLlama teacher, List<TokenData.Window> windows, NDManager manager) {
        double ce = 0;
        double kl = 0;
        int n = 0;
        for (int i = 0; i < windows.size(); i += o.batchSize) {
            TokenData.Window[] batch = windows.subList(i, Math.min(windows.size(), i + o.batchSize)).toArray(new TokenData.Window[0]);
            try (NDScope scope = new NDScope()) {
                NDArray ids = TrainableLlama.ids(manager, inputs(batch));
                NDArray targets = TrainableLlama.ids(manager, targets(batch));
                NDArray logits = model.forward(ids).stopGradient();
                ce += TrainableLlama.crossEntropy(logits, targets).getFloat() * batch.length;
                if (teacher != null) {
                    kl += TrainableLlama.klDivergence(teacher.forward(ids), logits, 1f).getFloat() * batch.length;
                }
                n += batch.length;
            }
        }
        return new float[] {(float) (ce / n), (float) (kl / n)};
    }

    private void writeCheckpoint(Path work, TrainableLlama model, AdamW adam, int step, long tokens, double seconds,
                                 float bestVal, int bestStep) {
        Map<String, SafeTensorsFiles.Tensor> all = new LinkedHashMap<>();
        model.weights().forEach((k, v) -> all.put("model/" + k, v));
        adam.state().forEach((k, a) -> all.put(k, new SafeTensorsFiles.Tensor(a.getShape().getShape(), a.toFloatArray())));
        SafeTensorsFiles.write(work.resolve("checkpoint.safetensors"), all, SafeTensorsFiles.DType.F32,
                Map.of("step", Integer.toString(step)));
        JsonObject c = new JsonObject();
        c.addProperty("step", step);
        c.addProperty("tokens", tokens);
        c.addProperty("seconds", seconds);
        c.addProperty("adam_steps", adam.steps());
        if (bestStep > 0) {
            c.addProperty("best_val_loss", bestVal);
            c.addProperty("best_step", bestStep);
        }
        c.add("config", model.shape().configJson("float32", TokenData.BOS, TokenData.EOS));
        Path tmp = work.resolve("checkpoint.json.tmp");
        writeString(tmp, new GsonBuilder().setPrettyPrinting().create().toJson(c) + "\n");
        try {
            Files.move(tmp, work.resolve("checkpoint.json"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int[][] inputs(TokenData.Window[] batch) {
        int[][] out = new int[batch.length][];
        for (int i = 0; i < batch.length; i++) {
            out[i] = batch[i].inputs();
        }
        return out;
    }

    private static int[][] targets(TokenData.Window[] batch) {
        int[][] out = new int[batch.length][];
        for (int i = 0; i < batch.length; i++) {
            out[i] = batch[i].targets();
        }
        return out;
    }

    private void message(String text) {
        if (console) {
            err.print("\r\u001b[K");
        }
        err.println(text);
        err.flush();
    }

    /** After a resume, the log keeps what happened up to the checkpoint and nothing after it. */
    private static void keepCsvRows(Path csv, int step) {
        List<String> kept = new ArrayList<>();
        kept.add(CSV_HEADER);
        if (Files.exists(csv)) {
            try {
                for (String line : Files.readAllLines(csv, StandardCharsets.UTF_8)) {
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
        writeString(csv, String.join("\n", kept) + "\n");
    }

    static JsonObject readJson(Path file) {
        try {
            return JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeString(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static void appendString(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND,
                    java.nio.file.StandardOpenOption.CREATE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
