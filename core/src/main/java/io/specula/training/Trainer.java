package io.specula.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.training.GradientCollector;
import com.google.gson.JsonObject;
import io.specula.model.ModelConfig;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Trains a Llama model with DJL's autograd: pretraining (cross-entropy on the corpus) or distillation (KL from a
 * teacher's next-token distributions, the teacher run without gradients). AdamW, linear warm-up then cosine decay,
 * gradient clipping, seeded batches; a progress line, periodic validation and checkpoints, {@code resume} from the
 * last checkpoint, and an export in the Hugging Face layout at the end.
 *
 * <p>{@link #run()} reads as the run goes: check the options, encode the corpora, load the teacher, find the start
 * (a checkpoint to resume, or fresh weights), train ({@code Run}: one optimiser step, log, evaluate, checkpoint, per
 * step), export. The work folder is {@link TrainingCheckpoint}'s.
 */
public final class Trainer {

    /** What a run achieved. {@code validKl} is NaN for pretraining. */
    public record Result(Path out, int steps, long tokens, float trainLoss, float validLoss, float validKl,
                         double seconds, double tokensPerSecond, boolean finished) {
    }

    private final TrainingOptions o;
    private final PrintStream err;
    private final boolean console;
    private final AtomicBoolean stopRequested = new AtomicBoolean();

    public Trainer(TrainingOptions options, PrintStream err, boolean console) {
        this.o = options;
        this.err = err;
        this.console = console;
    }

    /**
     * Asks a running {@link #run()} to stop after the step under way, with a checkpoint to {@code --resume} from (a
     * shutdown hook calls this, then waits for {@code run()} to return: the JVM must not exit in the middle of a
     * native backward pass).
     */
    public void requestStop() {
        stopRequested.set(true);
    }

    public Result run() {
        checkOptions();
        TrainingCheckpoint files = new TrainingCheckpoint(o.workDir());
        if (files.exists() && !o.resume) {
            throw new IllegalArgumentException("a checkpoint exists in " + o.workDir() + ": pass --resume to continue"
                    + " it, or remove the folder to start over");
        }
        Corpora data = encodeCorpora();
        try (NDManager manager = NDManager.newBaseManager()) {
            TrainableLlama teacher = o.distilling() ? loadTeacher(manager) : null;
            try {
                TrainingCheckpoint.State start = startState(files);
                try (TrainableLlama model = TrainableLlama.of(o.shape, start.model(), manager)) {
                    model.trainable();
                    AdamW adam = new AdamW(model.parameters(), manager, o.beta1, o.beta2, o.eps, o.weightDecay);
                    try {
                        if (start.optimiser() != null) {
                            adam.restore(start.optimiser(), start.adamSteps());
                        }
                        Run run = new Run(start, files, model, adam, teacher, data, manager);
                        return run.train() ? run.export() : run.stopped();
                    } finally {
                        adam.close();
                    }
                }
            } finally {
                if (teacher != null) {
                    teacher.close();
                }
            }
        }
    }

    private void checkOptions() {
        if (o.shape == null || o.out == null || o.train == null || o.valid == null) {
            throw new IllegalArgumentException("shape, out, train and valid are required");
        }
        if (o.seqLen > o.shape.maxPositions()) {
            throw new IllegalArgumentException("sequence length " + o.seqLen + " exceeds max positions " + o.shape.maxPositions());
        }
    }

    /** The corpora as token ids, and the validation windows every evaluation scores. */
    private record Corpora(TokenData train, TokenData valid, List<TokenData.Window> evalWindows) {
    }

    private Corpora encodeCorpora() {
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
        return new Corpora(train, valid, evalWindows);
    }

    private TrainableLlama loadTeacher(NDManager manager) {
        ModelShape ts = ModelShape.of(ModelConfig.read(o.teacher));
        if (ts.vocabSize() != o.shape.vocabSize()) {
            throw new IllegalArgumentException("teacher vocabulary " + ts.vocabSize() + " differs from the student's "
                    + o.shape.vocabSize());
        }
        TrainableLlama teacher = TrainableLlama.of(ts, SafeTensorsFiles.read(o.teacher.resolve("model.safetensors")),
                manager);
        message(String.format(Locale.ROOT, "teacher: %s, %,d parameters", o.teacher, ts.parameterCount()));
        return teacher;
    }

    /** Where this run starts: the checkpoint it resumes, or step 0 from initial (or given) weights. */
    private TrainingCheckpoint.State startState(TrainingCheckpoint files) {
        TrainingCheckpoint.State start;
        if (files.exists()) {
            start = files.read(o.shape);
            message("resuming from step " + start.step() + " (" + files.json() + ")");
        } else {
            if (o.resume) {
                message("no checkpoint in " + o.workDir() + ": starting from step 0");
            }
            start = TrainingCheckpoint.State.fresh(o.initFrom != null
                    ? SafeTensorsFiles.read(o.initFrom.resolve("model.safetensors"))
                    : TrainableLlama.initialWeights(o.shape, o.seed));
            files.start();
        }
        if (start.step() >= o.steps) {
            message("the checkpoint is already at step " + start.step() + " of " + o.steps + ": exporting it");
        }
        return start;
    }

    /** One run from its start state: the steps, their log and checkpoints, and the export at the end. */
    private final class Run {
        private final TrainingCheckpoint files;
        private final TrainableLlama model;
        private final AdamW adam;
        private final TrainableLlama teacher;
        private final Corpora data;
        private final NDManager manager;
        private final Progress progress;
        private final double priorSeconds;
        private final long runStart = System.nanoTime();
        private long tokens;
        private long runTokens;
        private float bestVal;
        private int bestStep;
        private int step;
        private float lastLoss = Float.NaN;
        private float[] lastEval;
        private int lastEvalStep = -1;

        Run(TrainingCheckpoint.State start, TrainingCheckpoint files, TrainableLlama model, AdamW adam,
            TrainableLlama teacher, Corpora data, NDManager manager) {
            this.files = files;
            this.model = model;
            this.adam = adam;
            this.teacher = teacher;
            this.data = data;
            this.manager = manager;
            this.progress = new Progress(err, start.step(), o.steps, o.logEvery, console);
            this.priorSeconds = start.seconds();
            this.tokens = start.tokens();
            this.bestVal = start.bestLoss();
            this.bestStep = start.bestStep();
            this.step = start.step();
        }

        /** Trains to the last step; false when the run stopped early (step or time limit), resumable. */
        boolean train() {
            while (step < o.steps) {
                step++;
                float lr = AdamW.learningRate(step, o.steps, o.warmupSteps, o.learningRate, o.minLrRatio);
                float[] lossAndNorm = optimiserStep(lr);
                long stepTokens = (long) o.batchSize * o.seqLen;
                tokens += stepTokens;
                runTokens += stepTokens;
                double elapsed = elapsedSeconds();
                float[] eval = step % o.evalEvery == 0 || step == o.steps ? evaluateAndKeepBest() : null;
                files.log(String.format(Locale.ROOT, "%d,%d,%.6g,%.6f,%.6f,%s,%s,%.1f%n", step, tokens, lr,
                        lossAndNorm[0], lossAndNorm[1], eval == null ? "" : String.format(Locale.ROOT, "%.6f", eval[0]),
                        eval == null || !o.distilling() ? "" : String.format(Locale.ROOT, "%.6f", eval[1]), elapsed));
                progress.step(step, runTokens, lossAndNorm[0], lr, null);
                if (eval != null) {
                    message("step " + step + ": " + String.format(Locale.ROOT, "validation loss %.4f (perplexity %.1f)%s",
                            eval[0], Math.exp(eval[0]), o.distilling() ? String.format(Locale.ROOT, ", KL %.4f", eval[1])
                                    : ""));
                }
                boolean stop = step < o.steps && (stopRequested.get() || (o.stopAfterStep > 0 && step >= o.stopAfterStep)
                        || (o.timeLimitMinutes > 0 && (System.nanoTime() - runStart) / 60e9 >= o.timeLimitMinutes));
                if (step % o.checkpointEvery == 0 || step == o.steps || stop) {
                    files.write(model, adam, step, tokens, elapsed, bestVal, bestStep);
                }
                if (stop) {
                    message("stopped after step " + step + " of " + o.steps + "; continue with --resume ("
                            + files.json() + ")");
                    return false;
                }
            }
            return true;
        }

        /** One optimiser step on the step's batch: {loss, gradient norm}. */
        private float[] optimiserStep(float lr) {
            float loss;
            float gradNorm;
            try (NDScope scope = new NDScope()) {
                TokenData.Window[] batch = data.train().batch(o.seed, step, o.batchSize, o.seqLen);
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
            return new float[] {loss, gradNorm};
        }

        /** Validation now; the weights are kept as the best when they score lowest so far. */
        private float[] evaluateAndKeepBest() {
            float[] eval = evaluate(model, teacher, data.evalWindows(), manager);
            lastEval = eval;
            lastEvalStep = step;
            float score = o.distilling() ? eval[1] : eval[0];
            if (score < bestVal) {
                bestVal = score;
                bestStep = step;
                if (o.exportBest) {
                    files.writeBest(model.weights(), step);
                }
            }
            return eval;
        }

        private double elapsedSeconds() {
            return priorSeconds + (System.nanoTime() - runStart) / 1e9;
        }

        private double tokensPerSecond() {
            return runTokens / Math.max(1e-9, (System.nanoTime() - runStart) / 1e9);
        }

        Result stopped() {
            return new Result(o.out, step, tokens, lastLoss, Float.NaN, Float.NaN, elapsedSeconds(), tokensPerSecond(),
                    false);
        }

        /** Exports the last weights, or the best ones when they scored lower, in the Hugging Face layout. */
        Result export() {
            double runSeconds = (System.nanoTime() - runStart) / 1e9;
            double totalSeconds = priorSeconds + runSeconds;
            double tokensPerSecond = runTokens / Math.max(1e-9, runSeconds);
            if (lastEvalStep != o.steps || lastEval == null) {
                lastEval = evaluate(model, teacher, data.evalWindows(), manager);
            }
            Map<String, SafeTensorsFiles.Tensor> export = model.weights();
            int exportStep = o.steps;
            float exportScore = o.distilling() ? lastEval[1] : lastEval[0];
            float[] exportEval = lastEval;
            Map<String, SafeTensorsFiles.Tensor> best = o.exportBest && bestStep > 0 && bestStep != o.steps
                    && bestVal < exportScore ? files.readBest() : null;
            if (best != null) {
                export = best;
                exportStep = bestStep;
                try (TrainableLlama bestModel = TrainableLlama.of(o.shape, export, manager)) {
                    exportEval = evaluate(bestModel, teacher, data.evalWindows(), manager);
                }
                message("exporting the weights of step " + bestStep + ", whose validation loss was the lowest");
            }
            JsonObject info = trainingInfo(exportStep, tokens, exportEval, lastLoss, totalSeconds, tokensPerSecond,
                    data);
            ModelExport.write(o.out, o.shape, export, o.exportDtype, o.tokenizerDir(), info, files.lossCsv());
            message(String.format(Locale.ROOT, "exported %s (%s): validation loss %.4f, perplexity %.1f%s",
                    o.out, o.exportDtype.torchName(), exportEval[0], Math.exp(exportEval[0]),
                    o.distilling() ? String.format(Locale.ROOT, ", KL from teacher %.4f", exportEval[1]) : ""));
            return new Result(o.out, o.steps, tokens, lastLoss, exportEval[0],
                    o.distilling() ? exportEval[1] : Float.NaN, totalSeconds, tokensPerSecond, true);
        }
    }

    /** training_info.json: what was exported and how it was trained. */
    private JsonObject trainingInfo(int exportStep, long tokens, float[] exportEval, float lastLoss,
                                    double totalSeconds, double tokensPerSecond, Corpora data) {
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
        info.addProperty("tokens_per_second_this_run", Math.round(tokensPerSecond));
        info.addProperty("train_corpus", o.train.toString());
        info.addProperty("valid_corpus", o.valid.toString());
        info.addProperty("train_tokens", data.train().size());
        info.addProperty("valid_tokens", data.valid().size());
        info.addProperty("seq_len", o.seqLen);
        info.addProperty("batch_size", o.batchSize);
        info.addProperty("learning_rate", o.learningRate);
        info.addProperty("min_lr_ratio", o.minLrRatio);
        info.addProperty("warmup_steps", o.warmupSteps);
        info.addProperty("weight_decay", o.weightDecay);
        info.addProperty("dropout", o.dropout);
        info.addProperty("clip", o.clip);
        info.addProperty("seed", o.seed);
        return info;
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

    static JsonObject readJson(Path file) {
        return TrainingCheckpoint.readJson(file);
    }
}
