package io.specula.cli;

import io.specula.engine.LoadedModel;
import io.specula.ProcessMemory;
import io.specula.generate.DecodingStats;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.model.JavaKernelModel;

import java.io.PrintWriter;
import java.util.Arrays;
import java.util.Locale;

/** {@code generate --bench}: prompt-processing and decoding speed of one model, as medians over repetitions. */
final class GenerateBenchmark {

    private GenerateBenchmark() {
    }

    static int run(PrintWriter out, LoadedModel loaded, PlainGenerator generator, GenerationRequest request, int repeat,
                   long loadNanos) {
        generator.generate(request); // warm-up: JIT, kernel threads
        double[] prefill = new double[repeat];
        double[] decode = new double[repeat];
        int tokens = 0;
        for (int i = 0; i < repeat; i++) {
            GenerationResult r = generator.generate(request);
            DecodingStats s = r.stats();
            prefill[i] = request.promptIds().length * 1e9 / Math.max(1, s.promptNanos());
            decode[i] = s.steps() * 1e9 / Math.max(1, s.verifyNanos());
            tokens = r.completionTokens();
        }
        double decodeMedian = median(decode);
        out.printf("model: %s (%d layers, hidden %d, vocab %d), kernel: %s%n", loaded.name(),
                loaded.config().numLayers(), loaded.config().hiddenSize(), loaded.config().vocabSize(),
                ModelKernelName.of(loaded));
        out.printf(Locale.ROOT, "load: %.2f s; weights: %s; resident memory after the run: %s%n", loadNanos / 1e9,
                loaded.model() instanceof JavaKernelModel m ? m.weights() : "on " + ModelKernelName.of(loaded),
                String.format(Locale.ROOT, "%.2f GB", ProcessMemory.rssBytes() / 1e9));
        out.printf("prompt: %d tokens, %.1f tokens/s (median of %d)%n", request.promptIds().length, median(prefill), repeat);
        out.printf("decode: %d tokens, %.1f tokens/s, %.3f ms/token (median of %d)%n", tokens, decodeMedian,
                1000 / decodeMedian, repeat);
        out.flush();
        return 0;
    }

    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
