package io.specula.model.llama;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonObject;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.TensorSource;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times forward passes of random Llama models on both backends: {@link LlamaModel} with a Java {@link MatMul} and
 * {@link DjlLlamaModel} on PyTorch, over 1, 2, 5, 9 and 16 new positions after a short context (plain decoding is 1;
 * verifying a draft of γ tokens is γ+1), plus tokens/s of plain one-token-at-a-time decoding.
 *
 * <pre>
 *   ForwardBenchmark [--sizes 8x512,12x768] [--positions 1,2,5,9,16] [--context 32] [--decode 16]
 *                    [--reps 5] [--device cpu|gpu] [--dtype float32|float16] [--backends java,djl]
 *                    [--threads N] [--clock wall|cpu] [--kernel auto|vector|scalar]
 * </pre>
 *
 * {@code --kernel} picks the Java {@link MatMul} ({@link MatMuls#forName}: the Vector API kernel when the JVM has
 * {@code jdk.incubator.vector}). {@code --threads} sets PyTorch's intra-op threads; on a machine whose cores are shared
 * with other work, 1 thread avoids OpenMP workers spinning against each other (which can make a pass 10x slower).
 * {@code --clock cpu} times with the calling thread's CPU time instead of the wall clock, so the figures no longer
 * depend on what else the machine is doing; it is only meaningful with one thread everywhere ({@code --threads 1},
 * and {@code -XX:ActiveProcessorCount=1} for the Java kernel's pool), where it is the latency on an idle core.
 *
 * Sizes are layers x hidden; vocab 32000, head dim 64, kv heads = heads / 4, intermediate ≈ 2.7 x hidden, tied
 * embeddings. Each figure is the median of the timed repetitions, after one untimed warm-up pass.
 */
public final class ForwardBenchmark {

    private ForwardBenchmark() {
    }

    /** One benchmark configuration, parsed from the command line. */
    record Options(List<int[]> sizes, int[] positions, int context, int decode, int reps, Device device,
                   DataType dtype, List<String> backends, int threads, boolean cpuClock, String kernel) {

        static Options parse(String... args) {
            List<int[]> sizes = List.of(new int[] {8, 512}, new int[] {12, 768});
            int[] positions = {1, 2, 5, 9, 16};
            int context = 32;
            int decode = 16;
            int reps = 5;
            Device device = Device.cpu();
            DataType dtype = DataType.FLOAT32;
            List<String> backends = List.of("java", "djl");
            int threads = 0;
            boolean cpuClock = false;
            String kernel = "auto";
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                if (a.equals("-h") || a.equals("--help")) {
                    throw new IllegalArgumentException("usage");
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException("missing value after " + a);
                }
                String v = args[++i];
                switch (a) {
                    case "--sizes" -> {
                        List<int[]> s = new ArrayList<>();
                        for (String part : v.split(",")) {
                            String[] lh = part.toLowerCase(Locale.ROOT).split("x");
                            s.add(new int[] {Integer.parseInt(lh[0].trim()), Integer.parseInt(lh[1].trim())});
                        }
                        sizes = s;
                    }
                    case "--positions" -> positions = Arrays.stream(v.split(",")).mapToInt(x -> Integer.parseInt(x.trim())).toArray();
                    case "--context" -> context = Integer.parseInt(v);
                    case "--decode" -> decode = Integer.parseInt(v);
                    case "--reps" -> reps = Integer.parseInt(v);
                    case "--device" -> device = v.equalsIgnoreCase("gpu") || v.equalsIgnoreCase("cuda") ? Device.gpu() : Device.fromName(v);
                    case "--dtype" -> dtype = switch (v.toLowerCase(Locale.ROOT)) {
                        case "float32", "fp32", "f32" -> DataType.FLOAT32;
                        case "float16", "fp16", "f16", "half" -> DataType.FLOAT16;
                        default -> throw new IllegalArgumentException("--dtype " + v + ": expected float32 or float16");
                    };
                    case "--backends" -> backends = List.of(v.toLowerCase(Locale.ROOT).split(","));
                    case "--threads" -> threads = Integer.parseInt(v);
                    case "--kernel" -> kernel = v;
                    case "--clock" -> cpuClock = switch (v.toLowerCase(Locale.ROOT)) {
                        case "cpu" -> true;
                        case "wall" -> false;
                        default -> throw new IllegalArgumentException("--clock " + v + ": expected wall or cpu");
                    };
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            }
            return new Options(sizes, positions, context, decode, reps, device, dtype, backends, threads, cpuClock, kernel);
        }
    }

    public static void main(String[] args) {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage().equals("usage") ? "" : e.getMessage());
            System.err.println("usage: ForwardBenchmark [--sizes 8x512,12x768] [--positions 1,2,5,9,16] [--context 32]"
                    + " [--decode 16] [--reps 5] [--device cpu|gpu] [--dtype float32|float16] [--backends java,djl]"
                    + " [--threads N] [--clock wall|cpu] [--kernel auto|vector|scalar]");
            System.exit(2);
            return;
        }
        run(o, System.out);
    }

    static void run(Options o, PrintStream out) {
        Engine engine = o.backends.contains("djl") ? Engine.getEngine(DjlLlamaModel.ENGINE) : null;
        if (engine != null && o.threads > 0) {
            JniUtils.setNumThreads(o.threads);
        }
        if (o.cpuClock && (Runtime.getRuntime().availableProcessors() > 1
                || engine != null && JniUtils.getNumThreads() > 1)) {
            out.println("warning: --clock cpu counts only the calling thread; run with --threads 1 and"
                    + " -XX:ActiveProcessorCount=1 or the figures leave out work done on other threads");
        }
        out.printf(Locale.ROOT, "Java %s, %d CPUs%s%n", Runtime.version(), Runtime.getRuntime().availableProcessors(),
                engine == null ? "" : String.format(Locale.ROOT, "; DJL %s / PyTorch %s, %d intra-op threads, %d GPUs",
                        Engine.getDjlVersion(), engine.getVersion(), JniUtils.getNumThreads(), engine.getGpuCount()));
        for (int[] size : o.sizes) {
            ModelConfig c = config(size[0], size[1]);
            long params = (long) c.vocabSize() * c.hiddenSize() + (long) c.numLayers() * ((long) c.hiddenSize()
                    * (c.qDim() + 2L * c.kvDim() + c.qDim() + 3L * c.intermediateSize()));
            out.printf(Locale.ROOT, "%n%dx%d: vocab %d, intermediate %d, heads %d/%d x %d, %.1fM parameters;"
                            + " context %d; %s ms per pass, median/min of %d%n", c.numLayers(), c.hiddenSize(), c.vocabSize(),
                    c.intermediateSize(), c.numHeads(), c.numKvHeads(), c.headDim(), params / 1e6, o.context,
                    o.cpuClock ? "thread-CPU" : "wall", o.reps);
            StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-22s", "backend"));
            for (int p : o.positions) {
                header.append(String.format(Locale.ROOT, "%16s", p + " pos"));
            }
            header.append(String.format(Locale.ROOT, "%14s", "decode tok/s"));
            out.println(header);
            LlamaWeights weights = LlamaWeights.load(c, random(size[0] * 31L + size[1]));
            for (String backend : o.backends) {
                String label;
                CausalLm model;
                if (backend.equals("java")) {
                    MatMul mm = MatMuls.forName(o.kernel);
                    model = new LlamaModel(c, weights, mm);
                    label = "java-" + mm.name();
                } else if (backend.equals("djl")) {
                    model = DjlLlamaModel.create(c, weights, o.device, o.dtype);
                    label = "djl-" + o.device.getDeviceType() + "-" + o.dtype.name().toLowerCase(Locale.ROOT);
                } else {
                    throw new IllegalArgumentException("unknown backend " + backend + ": expected java or djl");
                }
                try (model) {
                    out.print(String.format(Locale.ROOT, "  %-22s", label));
                    out.flush();
                    double[][] ms = time(model, o);
                    for (double[] m : ms) {
                        out.print(String.format(Locale.ROOT, "%16s", String.format(Locale.ROOT, "%.2f/%.2f", m[0], m[1])));
                        out.flush();
                    }
                    out.printf(Locale.ROOT, "%14.1f%n", decodeTokensPerSecond(model, o));
                }
            }
        }
    }

    private static int[] tokens(int n, int seed, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (int) Math.floorMod(seed * 7919L + i * 104729L, vocab);
        }
        return t;
    }

    /** Median and minimum milliseconds of one pass over each count of new positions, scoring every position. */
    private static double[][] time(CausalLm model, Options o) {
        int maxPositions = Arrays.stream(o.positions).max().orElse(1);
        double[][] result = new double[o.positions.length][];
        try (KvCache cache = model.newCache(o.context + Math.max(maxPositions, o.decode) + 1)) {
            model.forward(tokens(o.context, 1, model.vocabSize()), cache, 1);
            for (int k = 0; k < o.positions.length; k++) {
                int p = o.positions[k];
                int[] draft = tokens(p, 2 + k, model.vocabSize());
                model.forward(draft, cache, p);           // warm-up
                cache.truncate(o.context);
                double[] runs = new double[o.reps];
                for (int r = 0; r < o.reps; r++) {
                    long t0 = now(o);
                    model.forward(draft, cache, p);
                    runs[r] = (now(o) - t0) / 1e6;
                    cache.truncate(o.context);
                }
                Arrays.sort(runs);
                result[k] = new double[] {runs[runs.length / 2], runs[0]};
            }
        }
        return result;
    }

    /** Plain decoding: one token per pass, one logit row each, after the context. */
    private static double decodeTokensPerSecond(CausalLm model, Options o) {
        try (KvCache cache = model.newCache(o.context + o.decode + 1)) {
            model.forward(tokens(o.context, 1, model.vocabSize()), cache, 1);
            int[] next = tokens(o.decode, 3, model.vocabSize());
            long t0 = now(o);
            for (int i = 0; i < o.decode; i++) {
                model.forward(new int[] {next[i]}, cache, 1);
            }
            return o.decode / ((now(o) - t0) / 1e9);
        }
    }

    /**
     * Nanoseconds of wall time, or of the calling thread's CPU time. The latter ignores the waits of a machine shared
     * with other jobs, but counts only work done on this thread: it measures a pass when everything runs here, i.e.
     * with {@code --threads 1} and {@code -XX:ActiveProcessorCount=1} (the process CPU clock would cover PyTorch's
     * native workers but ticks in 10 ms steps).
     */
    private static long now(Options o) {
        return o.cpuClock ? ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() : System.nanoTime();
    }

    /** A Llama 3-style configuration: head dim 64, kv heads = heads / 4, intermediate ≈ 2.7 x hidden. */
    static ModelConfig config(int layers, int hidden) {
        int heads = Math.max(1, hidden / 64);
        int kvHeads = heads % 4 == 0 ? heads / 4 : heads;
        int intermediate = (int) Math.round(2.7 * hidden / 32) * 32;
        JsonObject json = new JsonObject();
        com.google.gson.JsonArray archs = new com.google.gson.JsonArray();
        archs.add("LlamaForCausalLM");
        json.add("architectures", archs);
        json.addProperty("vocab_size", 32000);
        json.addProperty("hidden_size", hidden);
        json.addProperty("intermediate_size", intermediate);
        json.addProperty("num_hidden_layers", layers);
        json.addProperty("num_attention_heads", heads);
        json.addProperty("num_key_value_heads", kvHeads);
        json.addProperty("head_dim", 64);
        json.addProperty("max_position_embeddings", 2048);
        json.addProperty("rms_norm_eps", 1e-5);
        json.addProperty("tie_word_embeddings", true);
        return ModelConfig.parse(Path.of("random-config.json"), json);
    }

    /** Uniform random weights (fast to make; the values do not matter for timing), norms of 1. */
    static TensorSource random(long seed) {
        return new TensorSource() {
            @Override
            public boolean contains(String name) {
                return !name.equals("lm_head.weight");
            }

            @Override
            public float[] floats(String name, long... shape) {
                long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
                float[] out = new float[Math.toIntExact(n)];
                if (name.endsWith("norm.weight")) {
                    Arrays.fill(out, 1f);
                    return out;
                }
                float amplitude = (float) (Math.sqrt(3.0 / shape[shape.length - 1]));
                long s = seed ^ name.hashCode() * 0x9E3779B97F4A7C15L;
                for (int i = 0; i < out.length; i++) {
                    s ^= s << 13;
                    s ^= s >>> 7;
                    s ^= s << 17;
                    out[i] = amplitude * ((s >>> 40) / (float) (1 << 24) * 2 - 1);
                }
                return out;
            }
        };
    }
}
