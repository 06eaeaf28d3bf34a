package io.specula.cli;

import io.specula.engine.ModelLoader;
import io.specula.kernel.MatMuls;
import io.specula.kernel.WeightFormat;
import io.specula.model.CausalLm;
import io.specula.model.JavaKernelModel;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.Quantization;
import io.specula.model.WeightLoader;
import io.specula.training.TokenData;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code specula perplexity}: a model's perplexity on a text corpus, computed by the engine's own forward pass in the
 * chosen weight format, over the same windows the trainer validates on ({@link TokenData#evaluationWindows}: BOS then
 * consecutive non-overlapping windows starting at word boundaries, every position scored). On the shipped target and
 * {@code samples/models/corpus/valid} it reproduces the validation perplexity of training_info.json, and measures
 * what quantization costs in quality (docs/quantization.md).
 */
@Command(name = "perplexity", mixinStandardHelpOptions = true,
        description = "Perplexity of a model on a corpus (the trainer's validation windows), in any weight format.")
final class PerplexityCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Model directory.")
    Path model;

    @Option(names = "--corpus", required = true, description = "A .txt file or a folder of them, e.g. samples/models/corpus/valid.")
    Path corpus;

    @Option(names = "--quantize", defaultValue = "none",
            description = "Weights: none (as stored), q8_0, q4_0 or q4_1 (default ${DEFAULT-VALUE}).")
    String quantize;

    @Option(names = "--dtype", defaultValue = "auto",
            description = "auto (as stored) or float32 (weights widened) (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--seq-len", defaultValue = "512", description = "Window length (default ${DEFAULT-VALUE}).")
    int seqLen;

    @Option(names = "--windows", defaultValue = "0", description = "At most this many windows, spread evenly; 0 = all.")
    int windows;

    @Option(names = "--kernel", defaultValue = "auto", description = "auto, vector or scalar (default ${DEFAULT-VALUE}).")
    String kernel;

    @Option(names = "--output-head", defaultValue = "default",
            description = "To measure the quantization rule for the output head (and a tied embedding): default (the "
                    + "rule), stored, q8_0 or q4 (default ${DEFAULT-VALUE}).")
    String outputHead;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Quantization q = Quantization.parse("--quantize", quantize);
        WeightFormat head = switch (outputHead.toLowerCase(Locale.ROOT)) {
            case "default" -> null;
            case "stored" -> WeightFormat.BF16;
            case "q8_0" -> WeightFormat.Q8;
            case "q4" -> WeightFormat.Q4;
            default -> throw new IllegalArgumentException("--output-head '" + outputHead
                    + "': expected default, stored, q8_0 or q4");
        };
        boolean float32 = dtype.equalsIgnoreCase("float32");
        if (!float32 && !dtype.equalsIgnoreCase("auto")) {
            throw new IllegalArgumentException("--dtype '" + dtype + "': expected auto or float32");
        }
        ModelConfig config = ModelConfig.read(model);
        JavaKernelModel m;
        try (ModelWeights weights = ModelWeights.open(model)) {
            m = ModelLoader.javaModel(config, new WeightLoader(weights, q, float32).outputFormat(head),
                    MatMuls.forName(kernel));
        }
        TokenData data = TokenData.encode(corpus, model);
        List<TokenData.Window> ws = data.evaluationWindows(Math.min(seqLen, config.maxPositionEmbeddings()), windows);
        long start = System.nanoTime();
        double nll = 0;
        long scored = 0;
        for (TokenData.Window w : ws) {
            nll += windowNll(m, w);
            scored += w.targets().length;
        }
        double mean = nll / scored;
        out.printf(Locale.ROOT, "%s, weights %s%s: %d windows of %d tokens (%d scored) from %s; mean loss %.4f, "
                        + "perplexity %.3f (%.1f s)%n", model.getFileName(), m.weights(),
                head == null ? "" : ", output head " + outputHead, ws.size(), ws.get(0).inputs().length, scored,
                corpus, mean, Math.exp(mean), (System.nanoTime() - start) / 1e9);
        out.flush();
        return 0;
    }

    /** Sum over the window of -log p(target | inputs so far), in double from float32 logits. */
    static double windowNll(CausalLm m, TokenData.Window w) {
        int n = w.inputs().length;
        try (KvCache cache = m.newCache(n)) {
            float[][] logits = m.forward(w.inputs(), cache, n);
            double sum = 0;
            for (int i = 0; i < n; i++) {
                float[] row = logits[i];
                double max = Double.NEGATIVE_INFINITY;
                for (float v : row) {
                    max = Math.max(max, v);
                }
                double z = 0;
                for (float v : row) {
                    z += Math.exp(v - max);
                }
                sum += max + Math.log(z) - row[w.targets()[i]];
            }
            return sum;
        }
    }
}
