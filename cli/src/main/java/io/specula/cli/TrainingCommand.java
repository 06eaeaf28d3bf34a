package io.specula.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.training.ModelExport;
import io.specula.training.ModelShape;
import io.specula.training.SafeTensorsFiles;
import io.specula.training.Trainer;
import io.specula.training.TrainingOptions;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** The options {@code pretrain} and {@code distill} share: data, model shape, optimisation, checkpoints, export. */
abstract class TrainingCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--train", defaultValue = "samples/models/corpus/train", description = "Training text: a .txt file or a folder of them (default ${DEFAULT-VALUE}).")
    Path train;

    @Option(names = "--valid", defaultValue = "samples/models/corpus/valid", description = "Held-out text for the validation loss (default ${DEFAULT-VALUE}).")
    Path valid;

    @Option(names = "--out", required = true, description = "Folder to export the model to (Hugging Face layout).")
    Path out;

    @Option(names = "--work", description = "Checkpoints and loss log (default: <out>-work).")
    Path work;

    @Option(names = "--layers", defaultValue = "8", description = "Decoder layers (default ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--hidden", defaultValue = "512", description = "Hidden size (default ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--intermediate", description = "MLP size (default: about 2.75 x hidden, a multiple of 64).")
    Integer intermediate;

    @Option(names = "--heads", defaultValue = "8", description = "Attention heads (default ${DEFAULT-VALUE}).")
    int heads;

    @Option(names = "--kv-heads", description = "Key/value heads, for grouped-query attention (default: = heads).")
    Integer kvHeads;

    @Option(names = "--max-positions", defaultValue = "512", description = "Context length the model is made for (default ${DEFAULT-VALUE}).")
    int maxPositions;

    @Option(names = "--untied", description = "A separate output matrix instead of the input embeddings.")
    boolean untied;

    @Option(names = "--init-from", description = "Start from the weights of this exported model (same shape).")
    Path initFrom;

    @Option(names = "--seq-len", defaultValue = "512", description = "Positions per training window, BOS included (default ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--batch-size", defaultValue = "4", description = "Windows per step (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--steps", defaultValue = "1000", description = "Optimiser steps (default ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--warmup", defaultValue = "100", description = "Linear warm-up steps (default ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--lr", defaultValue = "6e-4", description = "Peak learning rate (default ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--min-lr-ratio", defaultValue = "0.1", description = "The cosine ends at lr x this (default ${DEFAULT-VALUE}).")
    float minLrRatio;

    @Option(names = "--weight-decay", defaultValue = "0.1", description = "AdamW weight decay on matrices (default ${DEFAULT-VALUE}).")
    float weightDecay;

    @Option(names = "--clip", defaultValue = "1.0", description = "Gradient-norm clipping, 0 = none (default ${DEFAULT-VALUE}).")
    float clip;

    @Option(names = "--dropout", defaultValue = "0", description = "Residual dropout while training (default ${DEFAULT-VALUE}).")
    float dropout;

    @Option(names = "--seed", defaultValue = "1234", description = "Seeds the initialisation, the batches and dropout (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--checkpoint-every", defaultValue = "200", description = "Steps between checkpoints (default ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Option(names = "--eval-every", defaultValue = "200", description = "Steps between validation losses (default ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--eval-windows", defaultValue = "0", description = "Validation windows per evaluation, 0 = all (default ${DEFAULT-VALUE}).")
    int evalWindows;

    @Option(names = "--resume", description = "Continue from the checkpoint in the work folder (from step 0 if there is none).")
    boolean resume;

    @Option(names = "--stop-after-step", defaultValue = "0", description = "Stop with a checkpoint after this step, to --resume later.")
    int stopAfterStep;

    @Option(names = "--time-limit", defaultValue = "0", description = "Stop with a checkpoint after this many minutes, to --resume later.")
    double timeLimitMinutes;

    @Option(names = "--dtype", defaultValue = "float16", description = "Exported weights: float16 or float32 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--export-last", description = "Export the last step's weights even if an earlier evaluation scored better.")
    boolean exportLast;

    @Option(names = "--threads", description = "PyTorch intra-op threads (default: one per core).")
    Integer threads;

    @Option(names = "--log-every", defaultValue = "10", description = "Without a terminal: a progress line every N steps (default ${DEFAULT-VALUE}).")
    int logEvery;

    /** The tokenizer folder, and the vocabulary size it implies. */
    abstract Path tokenizer();

    abstract void configure(TrainingOptions o);

    @Override
    public Integer call() {
        // Before hours of training: the export must not overwrite a folder of the user's.
        ModelExport.checkOutputFolder(out, "--out");
        if (threads != null) {
            // Read once, when the PyTorch engine starts: nothing has started it yet in this process.
            System.setProperty("ai.djl.pytorch.num_threads", threads.toString());
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        TrainingOptions o = new TrainingOptions();
        o.train = train;
        o.valid = valid;
        o.out = out;
        o.work = work;
        o.tokenizer = tokenizer();
        if (hidden % heads != 0) {
            throw new IllegalArgumentException("--heads " + heads + " does not divide --hidden " + hidden);
        }
        int vocab = vocabularySize(o.tokenizer.resolve("tokenizer.json"));
        int ff = intermediate != null ? intermediate : (int) (Math.round(hidden * 2.75 / 64.0) * 64);
        o.shape = new ModelShape(vocab, hidden, ff, layers, heads, kvHeads != null ? kvHeads : heads, hidden / heads,
                maxPositions, 10000.0, 1e-5f, !untied);
        o.initFrom = initFrom;
        o.seqLen = seqLen;
        o.batchSize = batchSize;
        o.steps = steps;
        o.warmupSteps = warmup;
        o.learningRate = lr;
        o.minLrRatio = minLrRatio;
        o.weightDecay = weightDecay;
        o.clip = clip;
        o.dropout = dropout;
        o.seed = seed;
        o.checkpointEvery = checkpointEvery;
        o.evalEvery = evalEvery;
        o.evalWindows = evalWindows;
        o.resume = resume;
        o.stopAfterStep = stopAfterStep;
        o.timeLimitMinutes = timeLimitMinutes;
        o.exportDtype = SafeTensorsFiles.DType.parse(dtype);
        o.exportBest = !exportLast;
        o.logEvery = logEvery;
        configure(o);
        PrintStream err = System.err;
        Trainer trainer = new Trainer(o, err, System.console() != null);
        Trainer.Result r;
        try (StopOnShutdown guard = StopOnShutdown.install(spec.name(), trainer::requestStop)) {
            r = trainer.run();
        }
        spec.commandLine().getOut().printf(Locale.ROOT, "%s: %d steps, %,d tokens, %.0f tokens/s, validation loss %s%n",
                r.finished() ? "done" : "stopped", r.steps(), r.tokens(), r.tokensPerSecond(),
                Float.isNaN(r.validLoss()) ? "-" : String.format(Locale.ROOT, "%.4f", r.validLoss()));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** One more than the largest id in tokenizer.json (its vocabulary and added tokens). */
    static int vocabularySize(Path tokenizerJson) {
        try {
            JsonObject t = JsonParser.parseString(Files.readString(tokenizerJson, StandardCharsets.UTF_8)).getAsJsonObject();
            int max = -1;
            for (var e : t.getAsJsonObject("model").getAsJsonObject("vocab").entrySet()) {
                max = Math.max(max, e.getValue().getAsInt());
            }
            if (t.has("added_tokens") && t.get("added_tokens").isJsonArray()) {
                for (var e : t.getAsJsonArray("added_tokens")) {
                    max = Math.max(max, e.getAsJsonObject().get("id").getAsInt());
                }
            }
            return max + 1;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + tokenizerJson, e);
        }
    }
}
