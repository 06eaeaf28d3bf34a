package io.specula.bench;

import de.kherud.llama.InferenceParameters;
import io.specula.speculative.policy.DraftPolicy;
import de.kherud.llama.JllamaAccess;
import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import de.kherud.llama.args.CacheType;
import de.kherud.llama.args.LogFormat;
import io.specula.engine.EngineConfig;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.gguf.GgufExporter;
import io.specula.gguf.GgufWriter;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bench-llamacpp}: plain and speculative greedy decoding, ours and llama.cpp's, on the same target/drafter pairs
 * and the same prompt token ids, with the same number of threads, in one run, alternating, several repetitions.
 * Reports median tokens/s (generated tokens over the wall time of the whole request, prompt included), each engine's
 * speedup over its own plain decoding, and the ratio ours / llama.cpp; optionally writes a Markdown section (table
 * and bar chart) into docs/benchmarks.md between its own markers.
 */
@Command(name = "bench-llamacpp", mixinStandardHelpOptions = true,
        description = "Specula vs llama.cpp, plain and speculative decoding, side by side.")
public final class BenchLlamaCpp implements Callable<Integer> {

    static final String BEGIN = "<!-- bench-llamacpp:begin -->";
    static final String END = "<!-- bench-llamacpp:end -->";

    @Option(names = "--pair", description = "Extra pair NAME=TARGET_DIR,DRAFTER_DIR (Hugging Face directories), repeatable; "
            + "e.g. the sample pair under samples/models/.")
    List<String> pairs = new ArrayList<>();

    @Option(names = "--no-tiny", description = "Skip the built-in tiny pairs.")
    boolean noTiny;

    @Option(names = "--max-tokens", defaultValue = "64", description = "Tokens per request (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--repeat", defaultValue = "3", description = "Repetitions over the prompts (default ${DEFAULT-VALUE}).")
    int repeat;

    @Option(names = "--draft-tokens", defaultValue = "4", description = "Longest draft, both engines (default ${DEFAULT-VALUE}).")
    int draftTokens;

    @Option(names = "--work", defaultValue = "target/bench-llamacpp", description = "Where pairs and GGUF files go.")
    Path work;

    @Option(names = "--write-docs", description = "Markdown file whose bench-llamacpp section is replaced (or appended).")
    Path docs;

    static final List<String> PROMPTS = List.of(
            "It is a truth universally acknowledged, that",
            "Sherlock Holmes took his bottle from the corner of the mantel-piece",
            "The quick brown fox jumps over the lazy dog. The quick brown fox",
            "Once upon a time, in a small village by the sea,");

    static final String[] MODES = {"ours plain", "ours speculative (adaptive)", "ours speculative (fixed)",
            "llama.cpp plain", "llama.cpp speculative"};

    private final PrintStream out = System.out;
    private final String[] args;

    BenchLlamaCpp(String[] args) {
        this.args = args.clone();
    }

    public static void main(String[] args) {
        LlamaModel.setLogger(LogFormat.TEXT, (level, msg) -> { });
        System.exit(new CommandLine(new BenchLlamaCpp(args)).execute(args));
    }

    private String loadAtStart = "unknown";

    @Override
    public Integer call() throws IOException {
        loadAtStart = loadAverage();
        Files.createDirectories(work);
        List<TinyPairs.Pair> all = new ArrayList<>();
        if (!noTiny) {
            all.add(TinyPairs.write(work, "tiny-llama", Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                    ChatTemplateKind.NONE, 512, 1536, 8, 2, 0.05f));
            all.add(TinyPairs.write(work, "tiny-qwen2", Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL,
                    ChatTemplateKind.QWEN, 512, 1536, 8, 2, 0.05f));
        }
        for (String p : pairs) {
            String[] nameDirs = p.split("=", 2);
            String[] dirs = nameDirs[1].split(",", 2);
            all.add(new TinyPairs.Pair(nameDirs[0], Path.of(dirs[0]), Path.of(dirs[1])));
        }
        int threads = Runtime.getRuntime().availableProcessors();
        Map<String, Map<String, double[]>> results = new LinkedHashMap<>();
        Map<String, String> acceptance = new LinkedHashMap<>();
        for (TinyPairs.Pair pair : all) {
            out.printf("== %s: exporting to GGUF (f32)%n", pair.name());
            Path targetGguf = work.resolve(pair.name() + "-target.gguf");
            Path drafterGguf = work.resolve(pair.name() + "-drafter.gguf");
            GgufExporter.export(pair.target(), targetGguf, GgufWriter.TensorType.F32);
            GgufExporter.export(pair.drafter(), drafterGguf, GgufWriter.TensorType.F32);
            results.put(pair.name(), runPair(pair, targetGguf, drafterGguf, threads, acceptance));
        }
        String section = markdown(results, acceptance, threads);
        out.println();
        out.println(section);
        if (docs != null) {
            writeSection(docs, section);
            out.println("wrote " + docs);
        }
        return 0;
    }

    private Map<String, double[]> runPair(TinyPairs.Pair pair, Path targetGguf, Path drafterGguf, int threads,
                                          Map<String, String> acceptance) {
        int context = 1024;
        try (SpeculaEngine ours = SpeculaEngine.load(EngineConfig.of(pair.target(), pair.drafter().toString()));
             LlamaModel plain = new LlamaModel(llamaParams(targetGguf, threads, context));
             LlamaModel spec = new LlamaModel(llamaParams(targetGguf, threads, context)
                     .setModelDraft(drafterGguf.toString()).setCtxSizeDraft(context).setGpuLayersDraft(0)
                     .setDraftMax(draftTokens).setDraftMin(0).setDraftPMin(0f))) {
            List<int[]> prompts = new ArrayList<>();
            for (String t : PROMPTS) {
                prompts.add(ours.tokenizer().encode(t, false));
            }
            // Ours never stops early (no id is -1), as llama.cpp with ignore_eos: both produce maxTokens tokens.
            SamplingParams greedy = SamplingParams.greedy();
            SpeculationSettings adaptive = new SpeculationSettings(true, draftTokens, DraftPolicy.ADAPTIVE);
            SpeculationSettings fixed = new SpeculationSettings(true, draftTokens, DraftPolicy.FIXED);
            long[] ourDrafted = new long[1];
            long[] ourAccepted = new long[1];
            List<Map.Entry<String, java.util.function.Function<int[], Integer>>> modes = List.of(
                    Map.entry(MODES[0], ids -> ours.generate(request(ids, greedy), SpeculationSettings.OFF, null)
                            .completionTokens()),
                    Map.entry(MODES[1], ids -> count(ours.generate(request(ids, greedy), adaptive, null),
                            ourDrafted, ourAccepted)),
                    Map.entry(MODES[2], ids -> ours.generate(request(ids, greedy), fixed, null).completionTokens()),
                    Map.entry(MODES[3], ids -> complete(plain, ids)),
                    Map.entry(MODES[4], ids -> complete(spec, ids)));
            for (int[] p : prompts) {   // warm-up: JIT, threads, caches, the adaptive policy's first estimates
                for (var m : modes) {
                    m.getValue().apply(p);
                }
            }
            ourDrafted[0] = 0;
            ourAccepted[0] = 0;
            Map<String, List<Double>> tps = new LinkedHashMap<>();
            for (var m : modes) {
                tps.put(m.getKey(), new ArrayList<>());
            }
            for (int rep = 0; rep < repeat; rep++) {
                for (int[] p : prompts) {
                    for (var m : modes) {   // alternating, so drift on a shared machine hits every mode alike
                        long t0 = System.nanoTime();
                        int n = m.getValue().apply(p);
                        double s = (System.nanoTime() - t0) / 1e9;
                        tps.get(m.getKey()).add(n / s);
                    }
                }
                out.printf("  %s: repetition %d/%d done%n", pair.name(), rep + 1, repeat);
            }
            acceptance.put(pair.name(), ourDrafted[0] == 0 ? "no drafts (the adaptive policy found drafting not worth it)"
                    : String.format(Locale.ROOT, "%d of %d drafted tokens accepted (%.0f%%)", ourAccepted[0],
                    ourDrafted[0], 100.0 * ourAccepted[0] / ourDrafted[0]));
            Map<String, double[]> medians = new LinkedHashMap<>();
            tps.forEach((k, v) -> medians.put(k, new double[] {median(v)}));
            return medians;
        }
    }

    private static int count(GenerationResult r, long[] drafted, long[] accepted) {
        drafted[0] += r.stats().draftedTokens();
        accepted[0] += r.stats().acceptedTokens();
        return r.completionTokens();
    }

    private GenerationRequest request(int[] ids, SamplingParams greedy) {
        return new GenerationRequest(ids, maxTokens, greedy, List.of(), List.of(-1), null);
    }

    private int complete(LlamaModel model, int[] ids) {
        InferenceParameters p = new InferenceParameters("").setNPredict(maxTokens).setTemperature(0f)
                .setIgnoreEos(true).setSeed(0);
        model.complete(JllamaAccess.promptIds(p, ids));
        return maxTokens;
    }

    private static ModelParameters llamaParams(Path gguf, int threads, int context) {
        return new ModelParameters().setModel(gguf.toString()).setThreads(threads).setThreadsBatch(threads)
                .setCtxSize(context).setGpuLayers(0).setParallel(1).setCacheTypeK(CacheType.F32)
                .setCacheTypeV(CacheType.F32).disableLog();
    }

    private static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }

    // ---------------------------------------------------------------- report

    private String markdown(Map<String, Map<String, double[]>> results, Map<String, String> acceptance, int threads) {
        StringBuilder md = new StringBuilder();
        md.append(BEGIN).append('\n');
        md.append("## Specula vs llama.cpp (CPU)\n\n");
        md.append(String.format(Locale.ROOT, "Measured %s on %d threads (both engines), %s; greedy, %d tokens per "
                + "request (end of sequence ignored by both), %d prompts x %d repetitions after a warm-up, alternating "
                + "the modes; median tokens/s over whole requests (prompt included). llama.cpp: java-llama.cpp %s "
                + "(llama.cpp b4916), the GGUF files written by `specula export-gguf --type f32`, float32 KV cache, "
                + "speculative with `--draft-max %d --draft-min 0 --draft-p-min 0`. Ours: the Java vector kernels, "
                + "adaptive policy (γmax %d) and fixed γ = %d.%n%n", LocalDate.now(), threads,
                System.getProperty("java.vm.name") + " " + Runtime.version(), maxTokens, PROMPTS.size(), repeat,
                "4.2.0", draftTokens, draftTokens, draftTokens));
        md.append("| pair | | ours tok/s | llama.cpp tok/s | ours / llama.cpp |\n");
        md.append("|---|---|---:|---:|---:|\n");
        double max = 0;
        for (Map<String, double[]> r : results.values()) {
            for (double[] v : r.values()) {
                max = Math.max(max, v[0]);
            }
        }
        StringBuilder chart = new StringBuilder();
        for (Map.Entry<String, Map<String, double[]>> e : results.entrySet()) {
            Map<String, double[]> r = e.getValue();
            double op = r.get(MODES[0])[0];
            double oa = r.get(MODES[1])[0];
            double of = r.get(MODES[2])[0];
            double lp = r.get(MODES[3])[0];
            double ls = r.get(MODES[4])[0];
            md.append(String.format(Locale.ROOT, "| %s | plain | %.0f | %.0f | %.2f |%n", e.getKey(), op, lp, op / lp));
            md.append(String.format(Locale.ROOT, "| %s | speculative | %.0f adaptive, %.0f fixed | %.0f |"
                    + " %.2f adaptive, %.2f fixed |%n", e.getKey(), oa, of, ls, oa / ls, of / ls));
            md.append(String.format(Locale.ROOT, "| %s | speedup over own plain | %.2f adaptive, %.2f fixed | %.2f |"
                    + " |%n", e.getKey(), oa / op, of / op, ls / lp));
            chart.append(e.getKey()).append('\n');
            for (String m : MODES) {
                double v = r.get(m)[0];
                chart.append(String.format(Locale.ROOT, "  %-28s %s %.0f%n", m,
                        "█".repeat(Math.max(1, (int) Math.round(40 * v / max))), v));
            }
        }
        md.append("\nTokens/s (longer is faster):\n\n```\n").append(chart).append("```\n\n");
        md.append("Our drafter acceptance (adaptive policy, measured repetitions): ");
        acceptance.forEach((k, v) -> md.append(k).append(": ").append(v).append("; "));
        md.append("java-llama.cpp exposes no acceptance figures for llama.cpp.\n\nThe tiny pairs are random models (see `benchmarks/.../TinyPairs.java`): an 8-layer target "
                + "(hidden 512, MLP 1536, 8 heads, 4 KV heads) whose last 6 layers are damped, and its first 2 layers "
                + "as the drafter, so drafts are often right; they show the overheads of each engine, not what a "
                + "trained pair gains.\n\n");
        md.append("Produced by:\n\n```\n./mvnw -B -q -Pbenchmarks -pl core,benchmarks -am verify -DskipTests "
                + "-Dbench.args=\"" + String.join(" ", args) + "\"\n```\n\n");
        md.append("Load average (1 minute) of the machine at the start and at the end of the run: ").append(loadAtStart)
                .append(" and ").append(loadAverage()).append(" on ").append(Runtime.getRuntime().availableProcessors())
                .append(" cores (above about 1, other work shared the cores and the figures are noisy).\n");
        md.append(END).append('\n');
        return md.toString();
    }

    /** The 1-minute load average from /proc/loadavg, or "unknown" off Linux. */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    static void writeSection(Path file, String section) throws IOException {
        String text = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "# Benchmarks\n\n";
        int b = text.indexOf(BEGIN);
        int e = text.indexOf(END);
        if (b >= 0 && e > b) {
            text = text.substring(0, b) + section + text.substring(e + END.length() + (text.startsWith("\n", e + END.length()) ? 1 : 0));
        } else {
            text = text + (text.endsWith("\n\n") ? "" : text.endsWith("\n") ? "\n" : "\n\n") + section;
        }
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }

}
