package io.specula.kernel;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times the matrix products of Llama-like models for T = 1, 2, 5, 9, 16 positions: our kernel, DJL's
 * {@code NDArray.matMul} (libtorch, weights already on the engine) and, as a floor, one plain read of every weight on
 * the same threads. Prints ms per pass over all layers' products (qkv, o, gate|up, down), the lm head apart, and each
 * cost as a ratio to T = 1.
 *
 * <p>On a shared machine the available cores and memory bandwidth change from second to second, so every round runs
 * every path and every T once, and the table shows medians (and minima) over rounds: ratios within a column are
 * what to read. DJL's passes get a pause before and after, because libgomp's threads spin for milliseconds after each
 * libtorch call and would take the cores from ours.
 *
 * <pre>
 * OMP_NUM_THREADS=2 java --add-modules jdk.incubator.vector -Dai.djl.offline=true -cp ... \
 *     io.specula.kernel.MatMulBenchmark [--kernel vector|scalar|auto] [--rounds 9] [--no-djl] [--bf16]
 *     [--models 12x768,8x512]
 * </pre>
 */
public final class MatMulBenchmark {

    /** A Llama-like model's matrix shapes. */
    record Model(String name, int layers, int d, int kvDim, int ff, int vocab) {
        /** {out, in} of each layer's products: qkv, o, gate|up, down. */
        int[][] shapes() {
            return new int[][] {{d + 2 * kvDim, d}, {d, d}, {2 * ff, d}, {d, ff}};
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

    /** One timed pass: all layers' products, then the lm head; writes {layers ns, head ns} to times when not null. */
    interface Pass {
        void run(int positions, long[] times);
    }

    public static void main(String[] args) {
        String kernel = "auto";
        int rounds = 9;
        boolean djl = true;
        boolean bf16 = false;
        List<Model> models = List.of(BASE, SMALL);
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--kernel" -> kernel = args[++i];
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--no-djl" -> djl = false;
                case "--bf16" -> bf16 = true;
                case "--models" -> {
                    List<Model> chosen = new ArrayList<>();
                    for (String m : args[++i].split(",")) {
                        chosen.add(m.equals(SMALL.name) || m.equals("small") ? SMALL : BASE);
                    }
                    models = chosen;
                }
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        MatMul mm = MatMuls.forName(kernel);
        System.out.printf(Locale.ROOT, "kernel %s%s, %d cores, JVM %s, OMP_NUM_THREADS=%s; median (min) of %d rounds%n",
                mm.name(), mm.name().equals("vector") ? " " + VectorMatMul.species() : "",
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"),
                System.getenv("OMP_NUM_THREADS"), rounds);
        for (Model m : models) {
            run(m, mm, djl, bf16, rounds);
        }
    }

    private static void run(Model m, MatMul mm, boolean withDjl, boolean withBf16, int rounds) {
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
        float[] x = random(rnd, maxT * Math.max(m.ff, m.d), 1f);
        float[] y = new float[maxT * Math.max(m.vocab, 2 * m.ff)];
        System.out.printf(Locale.ROOT, "%n%s: %d layers, d=%d, kv=%d, ff=%d, vocab=%d; %.1f M layer weights (%.0f MB F32)"
                        + " + lm head %.1f M%n", m.name, m.layers, m.d, m.kvDim, m.ff, m.vocab, m.layerWeights() / 1e6,
                m.layerWeights() * 4 / 1e6, (double) m.vocab * m.d / 1e6);

        Map<String, Pass> paths = new LinkedHashMap<>();
        paths.put(mm.name(), (t, times) -> {
            long t0 = System.nanoTime();
            for (float[][] layer : w) {
                for (int k = 0; k < shapes.length; k++) {
                    mm.matmul(x, t, layer[k], null, shapes[k][0], shapes[k][1], y);
                }
            }
            long t1 = System.nanoTime();
            mm.matmul(x, t, head, null, m.vocab, m.d, y);
            record(times, t0, t1);
        });
        if (withBf16) {
            short[][][] h = new short[m.layers][shapes.length][];
            for (int l = 0; l < m.layers; l++) {
                for (int k = 0; k < shapes.length; k++) {
                    h[l][k] = Bf16.fromFloats(w[l][k]);
                }
            }
            short[] hHead = Bf16.fromFloats(head);
            paths.put(mm.name() + " bf16", (t, times) -> {
                long t0 = System.nanoTime();
                for (short[][] layer : h) {
                    for (int k = 0; k < shapes.length; k++) {
                        mm.matmulBf16(x, t, layer[k], null, shapes[k][0], shapes[k][1], y);
                    }
                }
                long t1 = System.nanoTime();
                mm.matmulBf16(x, t, hHead, null, m.vocab, m.d, y);
                record(times, t0, t1);
            });
        }
        Pass floor = null;
        if (MatMuls.vectorAvailable()) {
            ReadFloor reader = new ReadFloor();
            floor = (t, times) -> {
                long t0 = System.nanoTime();
                for (float[][] layer : w) {
                    for (int k = 0; k < shapes.length; k++) {
                        reader.read(layer[k], shapes[k][0], shapes[k][1]);
                    }
                }
                long t1 = System.nanoTime();
                reader.read(head, m.vocab, m.d);
                record(times, t0, t1);
            };
        }
        try (NDManager nd = withDjl ? NDManager.newBaseManager() : null) {
            Pass djl = null;
            if (nd != null) {
                // Hugging Face layout [out, in] as a transposed view, which libtorch hands to its GEMM as "transposed"
                NDArray[][] dw = new NDArray[m.layers][shapes.length];
                for (int l = 0; l < m.layers; l++) {
                    for (int k = 0; k < shapes.length; k++) {
                        dw[l][k] = nd.create(w[l][k], new Shape(shapes[k][0], shapes[k][1])).transpose();
                    }
                }
                NDArray dHead = nd.create(head, new Shape(m.vocab, m.d)).transpose();
                // activations uploaded once per pass, results left on the engine: DJL's best case
                djl = (t, times) -> {
                    try (NDManager s = nd.newSubManager()) {
                        long t0 = System.nanoTime();
                        NDArray xd = s.create(Arrays.copyOf(x, t * m.d), new Shape(t, m.d));
                        NDArray xf = s.create(Arrays.copyOf(x, t * m.ff), new Shape(t, m.ff));
                        for (NDArray[] layer : dw) {
                            for (int k = 0; k < shapes.length; k++) {
                                (shapes[k][1] == m.d ? xd : xf).matMul(layer[k]).close();
                            }
                        }
                        long t1 = System.nanoTime();
                        xd.matMul(dHead).close();
                        record(times, t0, t1);
                    }
                };
            }
            table(paths, floor, djl, rounds);
        }
    }

    /** Warms every path up, then runs rounds of (floor, each path at each T, DJL at each T) and prints the table. */
    private static void table(Map<String, Pass> paths, Pass floor, Pass djl, int rounds) {
        List<String> names = new ArrayList<>(paths.keySet());
        Map<String, Pass> all = new LinkedHashMap<>(paths);
        if (djl != null) {
            all.put("DJL", djl);
            names.add("DJL");
        }
        // warm-up: C2 compiles the kernels after thousands of calls; memory gets faulted in; libtorch starts threads
        long until = System.nanoTime() + 4_000_000_000L;
        do {
            for (int t : POSITIONS) {
                all.forEach((name, p) -> {
                    pauseIf(name.equals("DJL"));
                    p.run(t, null);
                });
            }
        } while (System.nanoTime() < until);

        int n = POSITIONS.length;
        long[][][] layers = new long[names.size()][n][rounds];
        long[][][] heads = new long[names.size()][n][rounds];
        long[][] floorTimes = new long[2][rounds];
        long[] two = new long[2];
        for (int r = 0; r < rounds; r++) {
            if (floor != null) {
                floor.run(1, two);
                floorTimes[0][r] = two[0];
                floorTimes[1][r] = two[1];
            }
            for (int p = 0; p < names.size(); p++) {
                boolean isDjl = names.get(p).equals("DJL");
                pauseIf(isDjl);
                for (int i = 0; i < n; i++) {
                    all.get(names.get(p)).run(POSITIONS[i], two);
                    layers[p][i][r] = two[0];
                    heads[p][i][r] = two[1];
                }
                pauseIf(isDjl);
            }
        }
        if (floor != null) {
            System.out.printf(Locale.ROOT, "memory-read floor (every weight read once, same threads): layers %s ms,"
                    + " lm head %s ms%n", ms(floorTimes[0]), ms(floorTimes[1]));
        }
        StringBuilder header = new StringBuilder("    T");
        for (String name : names) {
            header.append(String.format(Locale.ROOT, " | %-16s ×T=1  head ×T=1", name + " ms"));
        }
        if (djl != null) {
            header.append(" | DJL/").append(names.get(0));
        }
        System.out.println(header);
        for (int i = 0; i < n; i++) {
            StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%5d", POSITIONS[i]));
            for (int p = 0; p < names.size(); p++) {
                row.append(String.format(Locale.ROOT, " | %-16s %5.2f  %4.1f %5.2f", ms(layers[p][i]),
                        median(layers[p][i]) / median(layers[p][0]), median(heads[p][i]) / 1e6,
                        median(heads[p][i]) / median(heads[p][0])));
            }
            if (djl != null) {
                row.append(String.format(Locale.ROOT, " | %9.2f", median(layers[names.size() - 1][i])
                        / median(layers[0][i])));
            }
            System.out.println(row);
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

    private static void record(long[] times, long t0, long t1) {
        if (times != null) {
            times[0] = t1 - t0;
            times[1] = System.nanoTime() - t1;
        }
    }

    /** Lets libgomp's spinning threads go to sleep (or start) before the next pass of another path. */
    private static void pauseIf(boolean pause) {
        if (pause) {
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
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
