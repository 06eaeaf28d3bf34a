package io.specula.cli;

import io.specula.adaptive.AdaptiveConfig;
import io.specula.engine.BatchingConfig;
import io.specula.engine.BatchingStatus;
import io.specula.engine.DrafterChoice;
import io.specula.engine.EngineConfig;
import io.specula.engine.ServingLimits;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenSource;
import io.specula.model.Quantization;
import io.specula.speculative.SpeculationSettings;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code specula batch-bench}: N concurrent greedy requests, plain and speculative, on one engine whose requests run
 * their own passes and one whose requests share them (continuous batching), alternating in one run. Prints the
 * aggregate and per-request tokens per second and the time to first token (medians over the rounds), the batch
 * figures (sequences and positions per shared pass), and checks that every output equals the target's own greedy
 * output.
 */
@Command(name = "batch-bench", mixinStandardHelpOptions = true,
        description = "Concurrent requests with and without shared forward passes (continuous batching), in one run.")
final class BatchBenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--target", required = true, description = "Target model: a Hugging Face directory, a .gguf file or ollama:NAME[:TAG].")
    Path target;

    @Option(names = "--drafter", required = true, description = "Drafter model directory or file, or 'ngram'.")
    String drafter;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,2,4,8",
            description = "Concurrent requests to measure (default ${DEFAULT-VALUE}).")
    int[] concurrency;

    @Option(names = "--max-tokens", defaultValue = "128", description = "Tokens per request (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--repeat", defaultValue = "3", description = "Rounds; medians are reported (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--max-positions-per-pass", defaultValue = "64",
            description = "The batched engine's pass size (default ${DEFAULT-VALUE}).")
    int maxPositions;

    @Option(names = "--quantize", defaultValue = "none",
            description = "Target weights: none, q8_0, q4_0 or q4_1 (default ${DEFAULT-VALUE}).")
    String quantize;

    @Option(names = "--dtype", defaultValue = "auto",
            description = "Weights on the CPU: auto (as stored) or float32 (widened) (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--modes", split = ",", defaultValue = "plain,speculative",
            description = "plain and/or speculative (default ${DEFAULT-VALUE}).")
    List<String> modes;

    /** The load test's prompts: 8 different requests. */
    static final List<String> PROMPTS = LoadTestCommand.PROMPTS;

    /** One cell's samples over the rounds. */
    static final class Cell {
        final List<Double> aggregate = new ArrayList<>();
        final List<Double> perRequest = new ArrayList<>();
        final List<Double> ttftMs = new ArrayList<>();
        long sequences;
        long positions;
        long passes;
        long targetSequences;
        long targetPasses;
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (repeat < 1 || maxTokens < 1 || maxPositions < 2 || Arrays.stream(concurrency).anyMatch(c -> c < 1 || c > 64)) {
            throw new ParameterException(spec.commandLine(),
                    "expected --repeat >= 1, --max-tokens >= 1, --max-positions-per-pass >= 2, --concurrency in 1..64");
        }
        int most = Arrays.stream(concurrency).max().orElse(1);
        EngineConfig config = new EngineConfig(target, DrafterChoice.parse(drafter), "cpu", dtype, 0, "auto",
                new ServingLimits(most, 64, Duration.ofMinutes(10), 0, 0), false,
                Quantization.parse("--quantize", quantize), Quantization.NONE);
        try (SpeculaEngine alone = SpeculaEngine.load(config);
             SpeculaEngine shared = SpeculaEngine.load(config, AdaptiveConfig.DISABLED,
                     BatchingConfig.of(maxPositions))) {
            Map<String, int[]> reference = new HashMap<>();
            for (String p : PROMPTS) {
                reference.put(p, alone.generate(request(alone, p), SpeculationSettings.OFF, null).tokenIds());
            }
            Map<String, Cell> cells = new HashMap<>();
            int mismatches = 0;
            for (int round = 0; round < repeat; round++) {
                for (int c : concurrency) {
                    for (String mode : modes) {
                        SpeculationSettings speculation = mode.equals("plain") ? SpeculationSettings.OFF
                                : SpeculationSettings.DEFAULT;
                        for (int k = 0; k < 2; k++) {
                            boolean batched = (k + round) % 2 == 1; // alternate which engine goes first
                            SpeculaEngine engine = batched ? shared : alone;
                            Cell cell = cells.computeIfAbsent(key(c, mode, batched), x -> new Cell());
                            BatchingStatus before = engine.batchingStatus();
                            mismatches += run(engine, c, speculation, cell, reference);
                            BatchingStatus after = engine.batchingStatus();
                            cell.passes += after.passes() - before.passes();
                            cell.sequences += after.sequences() - before.sequences();
                            cell.positions += after.positions() - before.positions();
                            cell.targetPasses += after.targetPasses() - before.targetPasses();
                            cell.targetSequences += after.targetSequences() - before.targetSequences();
                        }
                    }
                }
            }
            print(out, cells, mismatches);
            return mismatches == 0 ? 0 : 1;
        }
    }

    private GenerationRequest request(SpeculaEngine engine, String prompt) {
        return GenerationRequest.of(engine.tokenizer().encode(prompt), maxTokens, SamplingParams.GREEDY);
    }

    /** c requests at once; returns the outputs that differ from the target's own greedy output. */
    private int run(SpeculaEngine engine, int c, SpeculationSettings speculation, Cell cell,
                    Map<String, int[]> reference) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(c);
        try {
            long start = System.nanoTime();
            List<Future<long[]>> futures = new ArrayList<>();
            List<String> prompts = new ArrayList<>();
            int[] mismatches = new int[1];
            for (int i = 0; i < c; i++) {
                String prompt = PROMPTS.get(i % PROMPTS.size());
                prompts.add(prompt);
                futures.add(pool.submit(() -> {
                    long[] first = {0};
                    long t0 = System.nanoTime();
                    GenerationListener listener = new GenerationListener() {
                        @Override
                        public void onToken(int tokenId, String textDelta, TokenSource source) {
                            if (first[0] == 0) {
                                first[0] = System.nanoTime();
                            }
                        }
                    };
                    GenerationResult r = engine.generate(request(engine, prompt), speculation, listener);
                    long t1 = System.nanoTime();
                    if (!Arrays.equals(r.tokenIds(), reference.get(prompt))) {
                        synchronized (mismatches) {
                            mismatches[0]++;
                        }
                    }
                    return new long[] {r.tokenIds().length, t1 - t0, first[0] - t0};
                }));
            }
            long tokens = 0;
            for (Future<long[]> f : futures) {
                long[] r = f.get();
                tokens += r[0];
                cell.perRequest.add(r[0] / (r[1] / 1e9));
                cell.ttftMs.add(r[2] / 1e6);
            }
            cell.aggregate.add(tokens / ((System.nanoTime() - start) / 1e9));
            return mismatches[0];
        } finally {
            pool.shutdownNow();
        }
    }

    private void print(PrintWriter out, Map<String, Cell> cells, int mismatches) {
        out.printf(Locale.ROOT, "target %s, drafter %s, %d tokens per request, greedy, %d rounds (medians), pass size %d%n",
                target, drafter, maxTokens, repeat, maxPositions);
        out.printf(Locale.ROOT, "%-4s %-12s %-9s %10s %8s %8s %12s %9s %9s %9s %9s%n", "c", "mode", "passes", "aggr tok/s",
                "x c=1", "x own", "per-req tok/s", "TTFT ms", "seq/pass", "pos/pass", "seq/tpass");
        for (String mode : modes) {
            double base = median(cells.get(key(concurrency[0], mode, false)).aggregate);
            for (int c : concurrency) {
                for (boolean batched : new boolean[] {false, true}) {
                    Cell cell = cells.get(key(c, mode, batched));
                    double aggregate = median(cell.aggregate);
                    double own = median(cells.get(key(c, mode, false)).aggregate);
                    out.printf(Locale.ROOT, "%-4d %-12s %-9s %10.1f %8.2f %8.2f %12.1f %9.1f %9s %9s %9s%n", c, mode,
                            batched ? "shared" : "own", aggregate, aggregate / base, aggregate / own,
                            median(cell.perRequest), median(cell.ttftMs),
                            batched && cell.passes > 0 ? String.format(Locale.ROOT, "%.2f", (double) cell.sequences / cell.passes) : "-",
                            batched && cell.passes > 0 ? String.format(Locale.ROOT, "%.2f", (double) cell.positions / cell.passes) : "-",
                            batched && cell.targetPasses > 0
                                    ? String.format(Locale.ROOT, "%.2f", (double) cell.targetSequences / cell.targetPasses) : "-");
                }
            }
        }
        out.printf(Locale.ROOT, "outputs different from the target's own greedy output: %d%n", mismatches);
        out.println("x c=1: aggregate over the same mode's single request on its own passes; x own: shared over own "
                + "passes at the same concurrency. seq/pass and pos/pass count target and drafter passes; seq/tpass: sequences "
                + "per target pass.");
    }

    private static String key(int c, String mode, boolean batched) {
        return c + "/" + mode + "/" + batched;
    }

    static double median(List<Double> values) {
        return GenerateBenchmark.median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }
}
