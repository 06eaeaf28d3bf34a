package io.specula.cli;

import io.specula.engine.EngineConfig;
import io.specula.speculative.policy.AdaptiveSnapshot;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.DecodingStats;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.model.Quantization;
import io.specula.model.JavaKernelModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code specula bench}: plain target decoding and speculative decoding on the same prompts in one run, alternating,
 * with the figures that explain the speedup (acceptance, cost ratio, theoretical speedup, efficiency). Speed is output
 * tokens per second of whole requests (prompt included: the target's prefill is the same in both modes, and whatever
 * speculation adds to a request, its drafter's catch-up on the prompt included, counts), the median over the
 * repetitions; the machine's load average is printed at the start and the end.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Plain vs speculative decoding on the same prompts, in one run.")
final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--target", required = true, description = "Target model: a Hugging Face directory, a .gguf file or ollama:NAME[:TAG].")
    Path target;

    @Option(names = "--drafter", required = true, description = "Drafter model (a Hugging Face directory, a .gguf file or ollama:NAME[:TAG]), or 'ngram'.")
    String drafter;

    @Option(names = "--prompts", description = "File with one prompt per line (default: a few built-in prompts).")
    Path prompts;

    @Option(names = "--max-tokens", defaultValue = "128", description = "Tokens per prompt (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--seed", defaultValue = "1",
            description = "Sampling seed, or 'none' for unseeded requests (rejection sampling) (default ${DEFAULT-VALUE}).")
    String seed;

    @Option(names = "--draft-tokens", defaultValue = "4", description = "γmax, the longest draft (default ${DEFAULT-VALUE}).")
    int draftTokens;

    @Option(names = "--policy", defaultValue = "adaptive",
            description = "Draft policy: adaptive, fixed, heuristic, confidence (default ${DEFAULT-VALUE}).")
    String policy;

    @Option(names = "--sweep", description = "Also run fixed γ = 1..8 next to the chosen policy.")
    boolean sweep;

    @Option(names = "--repeat", defaultValue = "3", description = "Repetitions; medians are reported (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--quantize", defaultValue = "none",
            description = "Target weights on the CPU kernels: none (as stored), q8_0, q4_0 or q4_1 (default ${DEFAULT-VALUE}).")
    String quantize;

    @Option(names = "--drafter-quantize", defaultValue = "none",
            description = "Drafter model weights, chosen apart from the target's: none, q8_0, q4_0 or q4_1 "
                    + "(default ${DEFAULT-VALUE}).")
    String drafterQuantize;

    static final List<String> DEFAULT_PROMPTS = List.of(
            "It is a truth universally acknowledged, that",
            "Sherlock Holmes took his bottle from the corner of the mantel-piece",
            "The quick brown fox jumps over the lazy dog. The quick brown fox",
            "Once upon a time, in a small village by the sea,");

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        List<String> texts = readPrompts();
        String loadAtStart = loadAverage();
        EngineConfig config = EngineConfig.of(target, drafter).withQuantization(
                Quantization.parse("--quantize", quantize), Quantization.parse("--drafter-quantize", drafterQuantize));
        long loadStart = System.nanoTime();
        try (SpeculaEngine engine = SpeculaEngine.load(config)) {
            out.printf(Locale.ROOT, "loaded in %.1f s (warm-up included); target weights %s%n",
                    (System.nanoTime() - loadStart) / 1e9, engine.target().model() instanceof JavaKernelModel m
                            ? m.weights() : "on " + engine.info().kernel());
            Long samplingSeed = "none".equalsIgnoreCase(seed.strip()) ? null : Long.valueOf(seed.strip());
            SamplingParams sampling = new SamplingParams(temperature, 0, 1, samplingSeed, 0, 0);
            List<GenerationRequest> requests = new ArrayList<>();
            for (String t : texts) {
                requests.add(GenerationRequest.of(engine.tokenizer().encode(t), maxTokens, sampling));
            }
            Map<String, SpeculationSettings> configs = new LinkedHashMap<>();
            configs.put(policy + " γmax=" + draftTokens, new SpeculationSettings(true, draftTokens, DraftPolicy.parse(policy)));
            if (sweep) {
                for (int g = 1; g <= 8; g++) {
                    configs.put("fixed γ=" + g, new SpeculationSettings(true, g, DraftPolicy.FIXED));
                }
            }
            // Warm-up: JIT, kernel threads, and the adaptive policy's first cost estimates.
            for (GenerationRequest r : requests) {
                engine.generate(r, SpeculationSettings.OFF, null);
                engine.generate(r, configs.values().iterator().next(), null);
            }
            Map<String, List<Run>> runs = new LinkedHashMap<>();
            runs.put("plain", new ArrayList<>());
            configs.keySet().forEach(k -> runs.put(k, new ArrayList<>()));
            for (int rep = 0; rep < repeat; rep++) {
                for (GenerationRequest r : requests) {
                    // Alternate plain and speculative so that drift of a shared machine hits both alike, and which
                    // goes first from one repetition to the next, so that neither always runs right after the other.
                    boolean plainFirst = rep % 2 == 0;
                    GenerationResult plain = plainFirst ? engine.generate(r, SpeculationSettings.OFF, null) : null;
                    Map<String, GenerationResult> speculative = new LinkedHashMap<>();
                    for (Map.Entry<String, SpeculationSettings> c : configs.entrySet()) {
                        speculative.put(c.getKey(), engine.generate(r, c.getValue(), null));
                    }
                    if (!plainFirst) {
                        plain = engine.generate(r, SpeculationSettings.OFF, null);
                    }
                    Run plainRun = Run.of(plain, null);
                    runs.get("plain").add(plainRun);
                    speculative.forEach((name, result) -> runs.get(name).add(Run.of(result, plainRun)));
                }
            }
            report(out, engine, runs, loadAtStart);
        }
        return 0;
    }

    private void report(PrintWriter out, SpeculaEngine engine, Map<String, List<Run>> runs, String loadAtStart) {
        List<Run> plainRuns = runs.get("plain");
        double plainTps = medianTps(plainRuns);
        double targetNanosPerToken = plainRuns.stream().mapToDouble(r -> r.stats.verifyNanos() / (double) Math.max(1, r.stats.steps())).sorted().toArray()[plainRuns.size() / 2];
        out.printf("target %s, drafter %s, kernel %s, %d prompts x %d repetitions, max tokens %d, temperature %s,"
                + " seed %s%n", engine.info().targetName(), engine.info().drafterName(), engine.info().kernel(),
                plainRuns.size() / repeat, repeat, maxTokens, temperature, seed);
        out.printf("load average (1 min) %s at the start, %s at the end, %d cores%n", loadAtStart, loadAverage(),
                Runtime.getRuntime().availableProcessors());
        out.printf("%-22s %10s %8s %7s %9s %7s %7s %11s %10s %9s%n", "mode", "tokens/s", "speedup", "alpha",
                "acc/step", "gamma", "c", "theoretical", "efficiency", "identical");
        out.printf("%-22s %10.1f %8.2f%n", "plain", plainTps, 1.0);
        for (Map.Entry<String, List<Run>> e : runs.entrySet()) {
            if (e.getKey().equals("plain")) {
                continue;
            }
            List<Run> rs = e.getValue();
            double tps = medianTps(rs);
            long drafted = 0;
            long accepted = 0;
            long drafts = 0;
            long draftNanos = 0;
            for (Run r : rs) {
                drafted += r.stats.draftedTokens();
                accepted += r.stats.acceptedTokens();
                drafts += r.stats.drafts();
                draftNanos += r.stats.draftNanos();
            }
            double alpha = drafted == 0 ? 0 : (double) accepted / drafted;
            double meanLength = drafts == 0 ? 1 : 1 + (double) accepted / drafts;
            double gamma = drafts == 0 ? 0 : (double) drafted / drafts;
            double c = drafted == 0 ? 0 : (draftNanos / (double) drafted) / targetNanosPerToken;
            double theoretical = theoreticalSpeedup(alpha, gamma, c);
            long identical = rs.stream().filter(Run::identicalToPlain).count();
            out.printf("%-22s %10.1f %8.2f %7.3f %9.2f %7.2f %7.3f %11.2f %9.0f%% %5d/%-3d%n", e.getKey(), tps,
                    tps / plainTps, alpha, meanLength, gamma, c, theoretical, 100 * (tps / plainTps) / theoretical,
                    identical, rs.size());
        }
        if (runs.keySet().stream().anyMatch(k -> k.startsWith("adaptive"))) {
            AdaptiveSnapshot policy = engine.policyEstimates();
            out.println("adaptive policy now: " + policy.outlook().reason());
            // What it chose, not only what it would choose now: a policy that drafts in bursts shows here.
            StringBuilder chosen = new StringBuilder();
            long[] histogram = policy.draftLengthHistogram();
            for (int g = 0; g < histogram.length; g++) {
                if (histogram[g] > 0) {
                    chosen.append(chosen.isEmpty() ? "" : ", ").append("γ=").append(g).append(' ').append(histogram[g]);
                }
            }
            out.printf("adaptive policy's choices (steps, warm-up included): %s; %d of the γ=1 steps were probes%n",
                    chosen, policy.probes());
        }
        out.println("alpha = accepted / drafted tokens; acc/step = 1 + accepted / drafts; gamma = mean draft length;");
        out.println("c = drafter time per drafted token / target time per plain step;");
        out.println("theoretical = (1 - alpha^(gamma+1)) / ((1 - alpha)(gamma c + 1)) (Leviathan et al.);"
                + " efficiency = measured speedup / theoretical;");
        out.println("tokens/s = output tokens / whole-request time (prompt included), median over the runs; identical ="
                + " runs whose tokens equal the plain run's of the same prompt and repetition.");
        out.flush();
    }

    /** Leviathan et al.'s expected speedup for acceptance rate α, draft length γ and cost ratio c. */
    static double theoreticalSpeedup(double alpha, double gamma, double c) {
        if (gamma == 0) {
            return 1;
        }
        double expectedTokens = alpha >= 1 ? gamma + 1 : (1 - Math.pow(alpha, gamma + 1)) / (1 - alpha);
        return expectedTokens / (gamma * c + 1);
    }

    private static double medianTps(List<Run> runs) {
        double[] v = runs.stream().mapToDouble(Run::tokensPerSecond).toArray();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    private List<String> readPrompts() {
        if (prompts == null) {
            return DEFAULT_PROMPTS;
        }
        try {
            List<String> lines = Files.readAllLines(prompts).stream().map(String::strip).filter(s -> !s.isEmpty()).toList();
            if (lines.isEmpty()) {
                throw new IllegalArgumentException("--prompts " + prompts + ": no prompt in the file (one per line)");
            }
            return lines;
        } catch (IOException e) {
            throw new UncheckedIOException("--prompts " + prompts + ": " + e.getMessage(), e);
        }
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** One generation's figures, and whether its tokens are the plain run's (null: it is the plain run). */
    private record Run(DecodingStats stats, int[] tokens, boolean identicalToPlain) {
        static Run of(GenerationResult r, Run plain) {
            return new Run(r.stats(), r.tokenIds(), plain != null && Arrays.equals(r.tokenIds(), plain.tokens));
        }

        double tokensPerSecond() {
            return stats.totalNanos() <= 0 ? 0 : stats.generatedTokens() * 1e9 / stats.totalNanos();
        }
    }
}
