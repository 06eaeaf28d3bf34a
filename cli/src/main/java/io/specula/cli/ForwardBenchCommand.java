package io.specula.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.kernel.Bf16Matrix;
import io.specula.kernel.F16Matrix;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.WeightMatrix;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.model.TensorSource;
import io.specula.model.WeightLoader;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.model.JavaKernelModel;
import io.specula.model.llama.LlamaModel;
import io.specula.model.llama.LlamaWeights;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code specula bench-forward}: whole forward passes (attention, norms and the output head included) over 1, 2, 5,
 * 9 and 16 new positions after a short context (plain decoding is 1; verifying a draft of γ tokens is γ+1), plus
 * tokens/s of plain one-token-at-a-time decoding. On random Llama models of the given sizes, on both backends
 * ({@link LlamaModel} with a Java kernel and {@link DjlLlamaModel} on PyTorch), or on one model directory
 * ({@code --model}) in any weight format ({@code --quantize}).
 *
 * <p>{@code --threads} sets PyTorch's intra-op threads; on a machine whose cores are shared with other work, 1 thread
 * avoids OpenMP workers spinning against each other. {@code --clock cpu} times with the calling thread's CPU time
 * instead of the wall clock, so the figures no longer depend on what else the machine is doing; it is only meaningful
 * with one thread everywhere ({@code --threads 1}, and {@code -XX:ActiveProcessorCount=1} for the Java kernel's pool).
 */
@Command(name = "bench-forward", mixinStandardHelpOptions = true,
        description = "Time forward passes over 1..16 positions and plain decoding, per backend and weight format.")
final class ForwardBenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", description = "A model to time instead of random models: a Hugging Face directory, a .gguf file or ollama:NAME[:TAG].")
    Path model;

    @Option(names = "--quantize", defaultValue = "none",
            description = "Weights of the Java backend: none (as stored), q8_0, q4_0 or q4_1 (default ${DEFAULT-VALUE}).")
    String quantize;

    @Option(names = "--weights", defaultValue = "f32",
            description = "Random models' stored precision: f32, f16 or bf16 (default ${DEFAULT-VALUE}).")
    String weights;

    @Option(names = "--sizes", split = ",", defaultValue = "8x512,12x768",
            description = "Random models, LAYERSxHIDDEN (default ${DEFAULT-VALUE}).")
    List<String> sizes;

    @Option(names = "--positions", split = ",", defaultValue = "1,2,5,9,16",
            description = "New positions per pass (default ${DEFAULT-VALUE}).")
    int[] positions;

    @Option(names = "--context", defaultValue = "32", description = "Tokens in the cache before each pass (default ${DEFAULT-VALUE}).")
    int context;

    @Option(names = "--decode", defaultValue = "16", description = "Tokens of plain decoding timed (default ${DEFAULT-VALUE}).")
    int decode;

    @Option(names = "--reps", defaultValue = "5", description = "Timed repetitions; median and minimum (default ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--device", defaultValue = "cpu", description = "DJL's device: cpu or gpu (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--dtype", defaultValue = "float32", description = "DJL's dtype: float32 or float16 (default ${DEFAULT-VALUE}).")
    String dtype;

    @Option(names = "--backends", split = ",", defaultValue = "java,djl",
            description = "java, djl or both (default ${DEFAULT-VALUE}).")
    List<String> backends;

    @Option(names = "--threads", defaultValue = "0", description = "PyTorch intra-op threads; 0 = its default.")
    int threads;

    @Option(names = "--clock", defaultValue = "wall", description = "wall or cpu (the calling thread's CPU time).")
    String clock;

    @Option(names = "--kernel", defaultValue = "auto", description = "Java kernel: auto, vector or scalar (default ${DEFAULT-VALUE}).")
    String kernel;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        boolean cpuClock = switch (clock.toLowerCase(Locale.ROOT)) {
            case "cpu" -> true;
            case "wall" -> false;
            default -> throw new IllegalArgumentException("--clock " + clock + ": expected wall or cpu");
        };
        DataType djlType = switch (dtype.toLowerCase(Locale.ROOT)) {
            case "float32", "fp32", "f32" -> DataType.FLOAT32;
            case "float16", "fp16", "f16", "half" -> DataType.FLOAT16;
            default -> throw new IllegalArgumentException("--dtype " + dtype + ": expected float32 or float16");
        };
        Device djlDevice = device.equalsIgnoreCase("gpu") || device.equalsIgnoreCase("cuda") ? Device.gpu()
                : Device.fromName(device);
        Quantization quantization = Quantization.parse("--quantize", quantize);
        for (String b : backends) {
            if (!b.equals("java") && !b.equals("djl")) {
                throw new IllegalArgumentException("--backends: unknown backend " + b + ": expected java or djl");
            }
        }
        Engine engine = backends.contains("djl") ? Engine.getEngine(DjlLlamaModel.ENGINE) : null;
        if (engine != null && threads > 0) {
            JniUtils.setNumThreads(threads);
        }
        if (cpuClock && (Runtime.getRuntime().availableProcessors() > 1
                || engine != null && JniUtils.getNumThreads() > 1)) {
            out.println("warning: --clock cpu counts only the calling thread; run with --threads 1 and"
                    + " -XX:ActiveProcessorCount=1 or the figures leave out work done on other threads");
        }
        out.printf(Locale.ROOT, "Java %s, %d CPUs%s%n", Runtime.version(), Runtime.getRuntime().availableProcessors(),
                engine == null ? "" : String.format(Locale.ROOT, "; DJL %s / PyTorch %s, %d intra-op threads, %d GPUs",
                        Engine.getDjlVersion(), engine.getVersion(), JniUtils.getNumThreads(), engine.getGpuCount()));
        if (model != null) {
            try (LoadedModel loaded = ModelLoader.load(model, "cpu", "auto", kernel, quantization)) {
                out.printf(Locale.ROOT, "%n%s: %s; weights %s%n", loaded.name(), ModelKernelName.of(loaded),
                        loaded.model() instanceof JavaKernelModel m ? m.weights() : "-");
                header(out);
                row(out, "java-" + quantization, loaded.model(), cpuClock);
            }
            out.flush();
            return 0;
        }
        for (String size : sizes) {
            String[] lh = size.toLowerCase(Locale.ROOT).split("x");
            ModelConfig c = config(Integer.parseInt(lh[0].trim()), Integer.parseInt(lh[1].trim()));
            long params = (long) c.vocabSize() * c.hiddenSize() + (long) c.numLayers() * ((long) c.hiddenSize()
                    * (c.qDim() + 2L * c.kvDim() + c.qDim() + 3L * c.intermediateSize()));
            out.printf(Locale.ROOT, "%n%dx%d: vocab %d, intermediate %d, heads %d/%d x %d, %.1fM parameters;"
                            + " context %d; %s ms per pass, median/min of %d%n", c.numLayers(), c.hiddenSize(),
                    c.vocabSize(), c.intermediateSize(), c.numHeads(), c.numKvHeads(), c.headDim(), params / 1e6,
                    context, cpuClock ? "thread-CPU" : "wall", reps);
            header(out);
            TensorSource source = random(c.numLayers() * 31L + c.hiddenSize(), weights);
            for (String backend : backends) {
                String label;
                CausalLm m;
                if (backend.equals("java")) {
                    MatMul mm = MatMuls.forName(kernel);
                    m = new LlamaModel(c, LlamaWeights.load(c, new WeightLoader(source, quantization, false)), mm);
                    label = "java-" + mm.name() + "-" + (quantization == Quantization.NONE ? weights : quantization);
                } else {
                    m = DjlLlamaModel.create(c, source, djlDevice, djlType);
                    label = "djl-" + djlDevice.getDeviceType() + "-" + djlType.name().toLowerCase(Locale.ROOT);
                }
                try (m) {
                    row(out, label, m, cpuClock);
                }
            }
        }
        out.flush();
        return 0;
    }

    private void header(PrintWriter out) {
        StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "  %-24s", "backend"));
        for (int p : positions) {
            header.append(String.format(Locale.ROOT, "%16s", p + " pos"));
        }
        header.append(String.format(Locale.ROOT, "%14s", "decode tok/s"));
        out.println(header);
    }

    private void row(PrintWriter out, String label, CausalLm m, boolean cpuClock) {
        out.print(String.format(Locale.ROOT, "  %-24s", label));
        out.flush();
        for (double[] ms : time(m, cpuClock)) {
            out.print(String.format(Locale.ROOT, "%16s", String.format(Locale.ROOT, "%.2f/%.2f", ms[0], ms[1])));
            out.flush();
        }
        out.printf(Locale.ROOT, "%14.1f%n", decodeTokensPerSecond(m, cpuClock));
    }

    private static int[] tokens(int n, int seed, int vocab) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = (int) Math.floorMod(seed * 7919L + i * 104729L, vocab);
        }
        return t;
    }

    /** Median and minimum milliseconds of one pass over each count of new positions, scoring every position. */
    private double[][] time(CausalLm m, boolean cpuClock) {
        int maxPositions = Arrays.stream(positions).max().orElse(1);
        double[][] result = new double[positions.length][];
        try (KvCache cache = m.newCache(context + Math.max(maxPositions, decode) + 1)) {
            m.forward(tokens(context, 1, m.vocabSize()), cache, 1);
            for (int k = 0; k < positions.length; k++) {
                int p = positions[k];
                int[] draft = tokens(p, 2 + k, m.vocabSize());
                m.forward(draft, cache, p);           // warm-up
                cache.truncate(context);
                double[] runs = new double[reps];
                for (int r = 0; r < reps; r++) {
                    long t0 = now(cpuClock);
                    m.forward(draft, cache, p);
                    runs[r] = (now(cpuClock) - t0) / 1e6;
                    cache.truncate(context);
                }
                Arrays.sort(runs);
                result[k] = new double[] {runs[runs.length / 2], runs[0]};
            }
        }
        return result;
    }

    /** Plain decoding: one token per pass, one logit row each, after the context. */
    private double decodeTokensPerSecond(CausalLm m, boolean cpuClock) {
        try (KvCache cache = m.newCache(context + decode + 1)) {
            m.forward(tokens(context, 1, m.vocabSize()), cache, 1);
            int[] next = tokens(decode, 3, m.vocabSize());
            long t0 = now(cpuClock);
            for (int i = 0; i < decode; i++) {
                m.forward(new int[] {next[i]}, cache, 1);
            }
            return decode / ((now(cpuClock) - t0) / 1e9);
        }
    }

    /**
     * Nanoseconds of wall time, or of the calling thread's CPU time. The latter ignores the waits of a machine shared
     * with other jobs, but counts only work done on this thread (the process CPU clock would cover PyTorch's native
     * workers but ticks in 10 ms steps).
     */
    private static long now(boolean cpuClock) {
        return cpuClock ? ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() : System.nanoTime();
    }

    /** A Llama 3-style configuration: head dim 64, kv heads = heads / 4, intermediate ≈ 2.7 x hidden. */
    static ModelConfig config(int layers, int hidden) {
        int heads = Math.max(1, hidden / 64);
        int kvHeads = heads % 4 == 0 ? heads / 4 : heads;
        int intermediate = (int) Math.round(2.7 * hidden / 32) * 32;
        JsonObject json = new JsonObject();
        JsonArray archs = new JsonArray();
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

    /**
     * Uniform random weights (fast to make; the values do not matter for timing), norms of 1; matrices stored as
     * {@code f32}, {@code f16} or {@code bf16}.
     */
    static TensorSource random(long seed, String stored) {
        String format = stored.toLowerCase(Locale.ROOT);
        if (!List.of("f32", "f16", "bf16").contains(format)) {
            throw new IllegalArgumentException("--weights " + stored + ": expected f32, f16 or bf16");
        }
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

            @Override
            public WeightMatrix matrix(int cols, Part... parts) {
                WeightMatrix f32 = TensorSource.super.matrix(cols, parts);
                return switch (format) {
                    case "f16" -> F16Matrix.round(f32.toFloats(), f32.rows(), cols);
                    case "bf16" -> Bf16Matrix.round(f32.toFloats(), f32.rows(), cols);
                    default -> f32;
                };
            }
        };
    }
}
