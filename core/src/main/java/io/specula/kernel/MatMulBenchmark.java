package io.specula.kernel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Times the matrix products of Llama-like models for T = 1, 2, 5, 9, 16 positions, our kernel against DJL's
 * {@code NDArray.matMul} (libtorch, weights and activations already on the engine), in one run and interleaved, so
 * the comparison holds on a noisy shared machine. Prints ms per pass over all layers' products (qkv, o, gate|up,
 * down), the lm head separately, and each cost as a ratio to T = 1.
 *
 * <pre>
 * OMP_NUM_THREADS=2 java --add-modules jdk.incubator.vector -Dai.djl.offline=true -cp ... \
 *     io.specula.kernel.MatMulBenchmark [--kernel vector|scalar] [--reps 9] [--no-djl] [--bf16] [--models 12x768,8x512]
 * </pre>
 */
public final class MatMulBenchmark {

    /** A Llama-like model's matrix shapes. */
    record Model(String name, int layers, int d, int kvDim, int ff, int vocab) {
        int qkv() {
            return d + 2 * kvDim;
        }

        /** {out, in} of each layer's products. */
        int[][] shapes() {
            return new int[][] {{qkv(), d}, {d, d}, {2 * ff, d}, {d, ff}};
        }

        long layerWeights() {
            long n = 0;
            for (int[] s : shapes()) {
                n += (long) s[0] * s[1];
            }
            return n * layers;
        }
    }

    static final Model BASE = new Model("12x768", 12, 768, 768, 2048, 32000);
    static final Model SMALL = new Model("8x512", 8, 512, 256, 1536, 32000);
    static final int[] POSITIONS = {1, 2, 5, 9, 16};

    public static void main(String[] args) {
        String kernel = "auto";
        int reps = 9;
        boolean djl = true;
        boolean bf16 = false;
        List<Model> models = List.of(BASE, SMALL);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--kernel" -> kernel = args[++i];
                case "--reps" -> reps = Integer.parseInt(args[++i]);
                case "--no-djl" -> djl = false;
                case "--bf16" -> bf16 = true;
                case "--models" -> {
                    List<Model> chosen = new ArrayList<>();
                    for (String m : args[++i].split(",")) {
                        chosen.add(m.equals("small") || m.equals(SMALL.name) ? SMALL : BASE);
                    }
                    models = chosen;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        MatMul mm = MatMuls.forName(kernel);
        System.out.printf(Locale.ROOT, "kernel %s%s, %d cores, %s, OMP_NUM_THREADS=%s; median (min) of %d passes%n",
                mm.name(), mm.name().equals("vector") ? " " + VectorMatMul.species() : "",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"),
                System.getenv("OMP_NUM_THREADS"), reps);
        for (Model m : models) {
            run(m, mm, djl, bf16, reps);
        }
    }

    private static void run(Model m, MatMul mm, boolean withDjl, boolean bf16, int reps) {
        int[][] shapes = m.shapes();
        SplittableRandom rnd = new SplittableRandom(7);
        float[][][] w = new float[m.layers][shapes.length][];
        for (float[][] layer : w) {
            for (int k = 0; k < shapes.length; k++) {
                layer[k] = random(rnd, shapes[k][0] * shapes[k][1], 0.05f);
            }
        }
        float[] head = random(rnd, m.vocab * m.d, 0.05f);
        int maxT = POSITIONS[POSITIONS.length - 1];
        int widest = Math.max(m.ff, m.d);
        float[] x = random(rnd, maxT * widest, 1f);
        float[] y = new float[maxT * Math.max(m.vocab, 2 * m.ff)];

        System.out.printf(Locale.ROOT, "%n%s: %d layers, d=%d, kv=%d, ff=%d, vocab=%d; %.1f M layer weights (%.0f MB F32)"
                        + " + lm head %.1f M%n", m.name, m.layers, m.d, m.kvDim, m.ff, m.vocab, m.layerWeights() / 1e6,
                m.layerWeights() * 4 / 1e6, (double) m.vocab * m.d / 1e6);
        System.out.println("   T | vector layers ms   ×T=1 | lm head ms ×T=1 |   DJL layers ms   ×T=1 | lm head ms ×T=1"
                + " | DJL/vector");
        try (NDManager nd = withDjl ? NDManager.newBaseManager() : null) {
            NDArray[][] dw = null;
            NDArray dHead = null;
            if (nd != null) {
                // Hugging Face layout [out, in]; a transposed view, which libtorch hands to its GEMM as "transposed".
                dw = new NDArray[m.layers][shapes.length];
                for (int l = 0; l < m.layers; l++) {
                    for (int k = 0; k < shapes.length; k++) {
                        dw[l][k] = nd.create(w[l][k], new Shape(shapes[k][0], shapes[k][1])).transpose();
                    }
                }
                dHead = nd.create(head, new Shape(m.vocab, m.d)).transpose();
            }
            if (MatMuls.vectorAvailable()) {
                // the memory-read floor: every layer weight read once, on the same threads, nothing computed
                ReadFloor floor = new ReadFloor();
                long[][] times = new long[2][reps];
                measure(reps, true, times[0], times[1], two -> {
                    long t0 = System.nanoTime();
                    for (float[][] layer : w) {
                        for (int k = 0; k < shapes.length; k++) {
                            floor.read(layer[k], shapes[k][0], shapes[k][1]);
                        }
                    }
                    long t1 = System.nanoTime();
                    floor.read(head, m.vocab, m.d);
                    if (two != null) {
                        two[0] = t1 - t0;
                        two[1] = System.nanoTime() - t1;
                    }
                });
                Arrays.sort(times[0]);
                Arrays.sort(times[1]);
                System.out.printf(Locale.ROOT, "read | %6.2f (%6.2f)  (%.0f GB/s) | %6.2f | memory-read floor: "
                                + "each weight read once, nothing computed%n", times[0][reps / 2] / 1e6,
                        times[0][0] / 1e6, m.layerWeights() * 4 / (times[0][reps / 2] / 1e9) / 1e9,
                        times[1][reps / 2] / 1e6);
            }
            double[] base = null;
            for (int t : POSITIONS) {
                // Java first, then DJL, each in its own block after a pause: libgomp's threads spin for a while after
                // each libtorch call and would take the cores from our threads if the two were interleaved.
                long[][] times = new long[4][reps];
                measure(reps, base == null, times[0], times[1], two -> javaPass(mm, m, w, head, x, t, y, two));
                if (nd != null) {
                    NDArray[][] dws = dw;
                    NDArray dh = dHead;
                    measure(reps, base == null, times[2], times[3], two -> djlPass(nd, m, dws, dh, x, t, two));
                }
                double[] med = new double[4];
                double[] min = new double[4];
                for (int k = 0; k < 4; k++) {
                    Arrays.sort(times[k]);
                    med[k] = times[k][reps / 2] / 1e6;
                    min[k] = times[k][0] / 1e6;
                }
                if (base == null) {
                    base = med;
                }
                System.out.printf(Locale.ROOT, "%4d | %6.2f (%6.2f) %5.2f | %6.2f %7.2f | %s | %s%n", t,
                        med[0], min[0], med[0] / base[0], med[1], med[1] / base[1],
                        nd == null ? "        -                  |    -          " : String.format(Locale.ROOT,
                                "%7.2f (%6.2f) %5.2f | %6.2f %7.2f", med[2], min[2], med[2] / base[2], med[3],
                                med[3] / base[3]),
                        nd == null ? "-" : String.format(Locale.ROOT, "%.2f", med[2] / med[0]));
            }
            if (bf16) {
                bf16Table(m, mm, w, head, x, y, reps);
            }
        }
    }

    /** The same products with the weights stored as BF16 (MatMul.matmulBf16), against F32 in the same run. */
    private static void bf16Table(Model m, MatMul mm, float[][][] w, float[] head, float[] x, float[] y, int reps) {
        int[][] shapes = m.shapes();
        short[][][] h = new short[m.layers][shapes.length][];
        for (int l = 0; l < m.layers; l++) {
            for (int k = 0; k < shapes.length; k++) {
                h[l][k] = Bf16.fromFloats(w[l][k]);
            }
        }
        short[] hHead = Bf16.fromFloats(head);
        System.out.println("   T | BF16 layers ms   ×T=1 | lm head ms | F32 layers ms | BF16/F32");
        double base = 0;
        for (int t : POSITIONS) {
            long[][] times = new long[4][reps];
            measure(reps, base == 0, times[0], times[1], two -> {
                long t0 = System.nanoTime();
                for (short[][] layer : h) {
                    for (int k = 0; k < shapes.length; k++) {
                        mm.matmulBf16(x, t, layer[k], null, shapes[k][0], shapes[k][1], y);
                    }
                }
                long t1 = System.nanoTime();
                mm.matmulBf16(x, t, hHead, null, m.vocab, m.d, y);
                if (two != null) {
                    two[0] = t1 - t0;
                    two[1] = System.nanoTime() - t1;
                }
            });
            measure(reps, false, times[2], times[3], two -> javaPass(mm, m, w, head, x, t, y, two));
            for (long[] a : times) {
                Arrays.sort(a);
            }
            double bf = times[0][reps / 2] / 1e6, f32 = times[2][reps / 2] / 1e6;
            base = base == 0 ? bf : base;
            System.out.printf(Locale.ROOT, "%4d | %6.2f (%6.2f) %5.2f | %10.2f | %13.2f | %8.2f%n", t, bf,
                    times[0][0] / 1e6, bf / base, times[1][reps / 2] / 1e6, f32, bf / f32);
        }
    }

    /**
     * Warms up (compiles the kernels: C2 needs thousands of calls; faults in memory; starts libtorch's threads), then
     * times {@code reps} passes into layers[r] and head[r].
     */
    private static void measure(int reps, boolean first, long[] layers, long[] head, Consumer<long[]> pass) {
        pause();
        long until = System.nanoTime() + (first ? 1_500_000_000L : 300_000_000L);
        do {
            pass.accept(null);
        } while (System.nanoTime() < until);
        long[] two = new long[2];
        for (int r = 0; r < reps; r++) {
            pass.accept(two);
            layers[r] = two[0];
            head[r] = two[1];
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** All layers' products then the lm head for t positions; times[0] = layers, times[1] = lm head (ns). */
    private static void javaPass(MatMul mm, Model m, float[][][] w, float[] head, float[] x, int t, float[] y,
            long[] times) {
        int[][] shapes = m.shapes();
        long t0 = System.nanoTime();
        for (float[][] layer : w) {
            for (int k = 0; k < shapes.length; k++) {
                mm.matmul(x, t, layer[k], null, shapes[k][0], shapes[k][1], y);
            }
        }
        long t1 = System.nanoTime();
        mm.matmul(x, t, head, null, m.vocab, m.d, y);
        long t2 = System.nanoTime();
        if (times != null) {
            times[0] = t1 - t0;
            times[1] = t2 - t1;
        }
    }

    /** The same with activations uploaded once per pass and results left on the engine (DJL's best case). */
    private static void djlPass(NDManager nd, Model m, NDArray[][] dw, NDArray dHead, float[] x, int t, long[] times) {
        int[][] shapes = m.shapes();
        try (NDManager s = nd.newSubManager()) {
            long t0 = System.nanoTime();
            NDArray xd = s.create(Arrays.copyOf(x, t * m.d), new Shape(t, m.d));
            NDArray xf = s.create(Arrays.copyOf(x, t * m.ff), new Shape(t, m.ff));
            for (NDArray[] layer : dw) {
                for (int k = 0; k < shapes.length; k++) {
                    NDArray r = (shapes[k][1] == m.d ? xd : xf).matMul(layer[k]);
                    r.close();
                }
            }
            long t1 = System.nanoTime();
            xd.matMul(dHead).close();
            long t2 = System.nanoTime();
            if (times != null) {
                times[0] = t1 - t0;
                times[1] = t2 - t1;
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) (rnd.nextDouble(-1, 1) * scale);
        }
        return a;
    }

    private MatMulBenchmark() {
    }
}
