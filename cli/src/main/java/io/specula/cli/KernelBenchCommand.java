package io.specula.cli;

import io.specula.kernel.Bf16Matrix;
import io.specula.kernel.F16Matrix;
import io.specula.kernel.F32Matrix;
import io.specula.kernel.FloatRows;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.Q4Matrix;
import io.specula.kernel.Q8Matrix;
import io.specula.kernel.VectorMatMul;
import io.specula.kernel.WeightMatrix;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code specula bench-kernels}: the matrix products of a decoding step (every linear layer of every decoder layer,
 * then the output head) of a Llama-like model with random weights, for T = 1, 2, 5, 9, 16 positions at once (T = 1 is
 * plain decoding, T = γ+1 a verification pass), in each weight format. Every round runs every format and every T once,
 * interleaved, so drift of a shared machine hits all alike; the table shows medians (and minima) over rounds.
 *
 * <p>Each kernel variant is compiled by C2 on its own, but a JVM that has run several formats may inline differently
 * from one that runs only one (docs/quantization.md, "JIT"): to check a format's speed on its own, give one format per
 * run ({@code --formats q4_1}); {@code scripts/bench-kernels.sh} runs each format in its own JVM.
 */
@Command(name = "bench-kernels", mixinStandardHelpOptions = true,
        description = "Time the matrix products of a decoding step per weight format and number of positions.")
final class KernelBenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--shape", defaultValue = "12x768",
            description = "Model shape: 12x768, 8x512, 1b (Llama-3.2-1B: 16 x 2048, MLP 8192, vocab 128256) or "
                    + "LAYERSxHIDDEN (default ${DEFAULT-VALUE}).")
    String shape;

    @Option(names = "--formats", split = ",", defaultValue = "f32,bf16,q8_0,q4_1",
            description = "Weight formats: f32, f16, bf16, q8_0, q4_0, q4_1 (default ${DEFAULT-VALUE}).")
    List<String> formats;

    @Option(names = "--positions", split = ",", defaultValue = "1,2,5,9,16",
            description = "Numbers of positions per pass (default ${DEFAULT-VALUE}).")
    int[] positions;

    @Option(names = "--rounds", defaultValue = "9", description = "Timed rounds (default ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--kernel", defaultValue = "auto", description = "auto, vector or scalar (default ${DEFAULT-VALUE}).")
    String kernel;

    @Option(names = "--warmup-seconds", defaultValue = "4", description = "Untimed warm-up (default ${DEFAULT-VALUE}).")
    double warmup;

    @Option(names = "--clock", defaultValue = "wall",
            description = "wall, or cpu: the calling thread's CPU time, which ignores waiting for a shared machine's "
                    + "cores; only meaningful on one thread (-XX:ActiveProcessorCount=1) (default ${DEFAULT-VALUE}).")
    String clock;

    /** A Llama-like model's matrix shapes. */
    record Shape(String name, int layers, int d, int kvDim, int ff, int vocab) {
        /** {out, in} of each layer's products: qkv, o, gate|up, down. */
        int[][] matrices() {
            return new int[][] {{d + 2 * kvDim, d}, {d, d}, {2 * ff, d}, {d, ff}};
        }

        long layerWeights() {
            long n = 0;
            for (int[] s : matrices()) {
                n += (long) s[0] * s[1];
            }
            return n * layers;
        }

        static Shape parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT)) {
                case "12x768" -> new Shape("12x768", 12, 768, 768, 2048, 32000);
                case "8x512" -> new Shape("8x512", 8, 512, 256, 1536, 32000);
                case "1b" -> new Shape("1b", 16, 2048, 512, 8192, 128256);
                default -> {
                    String[] lh = s.toLowerCase(Locale.ROOT).split("x");
                    if (lh.length != 2) {
                        throw new IllegalArgumentException("--shape '" + s + "': expected 12x768, 8x512, 1b or "
                                + "LAYERSxHIDDEN");
                    }
                    int layers = Integer.parseInt(lh[0].trim());
                    int d = Integer.parseInt(lh[1].trim());
                    yield new Shape(s, layers, d, Math.max(32, d / 4), (int) Math.round(2.7 * d / 32) * 32, 32000);
                }
            };
        }
    }

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Shape m = Shape.parse(shape);
        if (!clock.equals("wall") && !clock.equals("cpu")) {
            throw new IllegalArgumentException("--clock " + clock + ": expected wall or cpu");
        }
        cpuClock = clock.equals("cpu");
        MatMul mm = MatMuls.forName(kernel);
        out.printf(Locale.ROOT, "kernel %s%s, %d cores, JVM %s; %s: %d layers, d=%d, kv=%d, ff=%d, vocab=%d; "
                        + "%.1f M layer weights + lm head %.1f M; median (min) of %d rounds, ms per pass%n",
                mm.name(), mm.name().equals("vector") ? " " + VectorMatMul.species() : "",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"), m.name(), m.layers(),
                m.d(), m.kvDim(), m.ff(), m.vocab(), m.layerWeights() / 1e6, (double) m.vocab() * m.d() / 1e6, rounds);
        List<WeightMatrix[][]> layers = new ArrayList<>();
        List<WeightMatrix> heads = new ArrayList<>();
        int[][] shapes = m.matrices();
        for (String f : formats) {
            SplittableRandom rnd = new SplittableRandom(7);
            WeightMatrix[][] w = new WeightMatrix[m.layers()][shapes.length];
            for (WeightMatrix[] layer : w) {
                for (int k = 0; k < shapes.length; k++) {
                    layer[k] = make(f, random(rnd, shapes[k][0] * shapes[k][1], 0.05f), shapes[k][0], shapes[k][1]);
                }
            }
            layers.add(w);
            heads.add(make(f, random(rnd, m.vocab() * m.d(), 0.05f), m.vocab(), m.d()));
        }
        int maxT = Arrays.stream(positions).max().orElse(1);
        float[] x = random(new SplittableRandom(3), maxT * Math.max(m.ff(), m.d()), 1f);
        float[] y = new float[maxT * Math.max(m.vocab(), 2 * m.ff())];
        long until = System.nanoTime() + (long) (warmup * 1e9);
        do {
            for (int f = 0; f < formats.size(); f++) {
                for (int t : positions) {
                    pass(mm, layers.get(f), heads.get(f), x, y, t, null);
                }
            }
        } while (System.nanoTime() < until);
        long[][][] layerNs = new long[formats.size()][positions.length][rounds];
        long[][][] headNs = new long[formats.size()][positions.length][rounds];
        long[] two = new long[2];
        for (int r = 0; r < rounds; r++) {
            for (int f = 0; f < formats.size(); f++) {
                for (int i = 0; i < positions.length; i++) {
                    pass(mm, layers.get(f), heads.get(f), x, y, positions[i], two);
                    layerNs[f][i][r] = two[0];
                    headNs[f][i][r] = two[1];
                }
            }
        }
        out.printf(Locale.ROOT, "%-8s %6s %18s %6s %10s %9s %6s%n", "format", "T", "layers ms", "xT=1", "GB/s T=1",
                "head ms", "xT=1");
        for (int f = 0; f < formats.size(); f++) {
            long bytes = 0;
            for (WeightMatrix[] layer : layers.get(f)) {
                for (WeightMatrix w : layer) {
                    bytes += w.bytes();
                }
            }
            for (int i = 0; i < positions.length; i++) {
                out.printf(Locale.ROOT, "%-8s %6d %18s %6.2f %10s %9.2f %6.2f%n", formats.get(f), positions[i],
                        ms(layerNs[f][i]), median(layerNs[f][i]) / median(layerNs[f][0]),
                        i == 0 ? String.format(Locale.ROOT, "%.1f", bytes / median(layerNs[f][0])) : "",
                        median(headNs[f][i]) / 1e6, median(headNs[f][i]) / median(headNs[f][0]));
            }
        }
        out.flush();
        return 0;
    }

    static WeightMatrix make(String format, float[] w, int rows, int cols) {
        F32Matrix f32 = new F32Matrix(w, rows, cols);
        return switch (format.toLowerCase(Locale.ROOT)) {
            case "f32" -> f32;
            case "f16" -> F16Matrix.round(w, rows, cols);
            case "bf16" -> Bf16Matrix.round(w, rows, cols);
            case "q8_0" -> Q8Matrix.quantize(f32);
            case "q4_0" -> Q4Matrix.quantizeSymmetric(FloatRows.of(f32), rows, cols);
            case "q4_1" -> Q4Matrix.quantizeWithMinimum(FloatRows.of(f32), rows, cols);
            default -> throw new IllegalArgumentException("--formats: '" + format
                    + "' is not a format; expected f32, f16, bf16, q8_0, q4_0 or q4_1");
        };
    }

    private static boolean cpuClock;

    private static long now() {
        return cpuClock ? java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime()
                : System.nanoTime();
    }

    /** One pass: all layers' products, then the lm head; writes {layers ns, head ns} when times is not null. */
    private static void pass(MatMul mm, WeightMatrix[][] layers, WeightMatrix head, float[] x, float[] y, int t,
                             long[] times) {
        long t0 = now();
        for (WeightMatrix[] layer : layers) {
            for (WeightMatrix w : layer) {
                mm.matmul(x, t, w, null, y);
            }
        }
        long t1 = now();
        mm.matmul(x, t, head, null, y);
        if (times != null) {
            times[0] = t1 - t0;
            times[1] = now() - t1;
        }
    }

    private static String ms(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return String.format(Locale.ROOT, "%.2f (%.2f)", s[s.length / 2] / 1e6, s[0] / 1e6);
    }

    private static double median(long[] ns) {
        long[] s = ns.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static float[] random(SplittableRandom rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextDouble(-scale, scale);
        }
        return a;
    }
}
