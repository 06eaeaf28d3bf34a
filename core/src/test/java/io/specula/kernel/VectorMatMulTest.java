package io.specula.kernel;

import static io.specula.kernel.MatMulTesting.assertClose;
import static io.specula.kernel.MatMulTesting.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class VectorMatMulTest {

    // widths around the vector width (16 floats with AVX-512, 8 with AVX2) and real ones; outs around the 4-row block
    private static final int[] INS = {1, 3, 7, 8, 15, 16, 17, 33, 64, 100, 255, 768, 771};
    private static final int[] OUTS = {1, 2, 3, 4, 5, 6, 7, 9, 33, 130};

    private static NDManager nd;
    private final VectorMatMul vector = new VectorMatMul();
    private final ScalarMatMul scalar = new ScalarMatMul();

    @BeforeAll
    static void engine() {
        nd = NDManager.newBaseManager();
    }

    @AfterAll
    static void closeEngine() {
        nd.close();
    }

    @Test
    void matchesScalarOnAllSmallShapesAndPositions() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int in : INS) {
            for (int out : OUTS) {
                for (int positions = 1; positions <= 17; positions++) {
                    boolean withBias = (in + out + positions) % 2 == 0;
                    check(rnd, positions, out, in, withBias);
                }
            }
        }
    }

    @Test
    void matchesScalarOnShapesLargeEnoughForThreads() {
        SplittableRandom rnd = new SplittableRandom(2);
        int[][] shapes = {{515, 771}, {2304, 768}, {768, 2048}, {1001, 130}, {4099, 17}};
        for (int[] s : shapes) {
            for (int positions : new int[] {1, 2, 3, 4, 5, 8, 9, 16, 17}) {
                check(rnd, positions, s[0], s[1], positions % 2 == 1);
            }
        }
    }

    @Test
    void prefillManyPositions() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int positions : new int[] {64, 100}) {
            check(rnd, positions, 131, 200, true);
        }
    }

    @Test
    void matchesDjl() {
        SplittableRandom rnd = new SplittableRandom(4);
        int[][] shapes = {{7, 33}, {130, 100}, {515, 771}, {768, 2048}, {33, 17}};
        for (int[] s : shapes) {
            int out = s[0], in = s[1];
            for (int positions = 1; positions <= 17; positions += 4) {
                for (boolean withBias : new boolean[] {false, true}) {
                    float[] x = random(rnd, positions * in);
                    float[] w = random(rnd, out * in);
                    float[] bias = withBias ? random(rnd, out) : null;
                    float[] expected;
                    try (NDManager m = nd.newSubManager()) {
                        NDArray r = m.create(x, new Shape(positions, in))
                                .matMul(m.create(w, new Shape(out, in)).transpose());
                        if (bias != null) {
                            r = r.add(m.create(bias, new Shape(1, out)));
                        }
                        expected = r.toFloatArray();
                    }
                    float[] y = new float[positions * out];
                    vector.matmul(x, positions, w, bias, out, in, y);
                    assertClose("vector vs DJL", x, positions, w, bias, out, in, expected, y);
                }
            }
        }
    }

    @Test
    void writesOnlyItsOutputAndOverwrites() {
        SplittableRandom rnd = new SplittableRandom(5);
        int positions = 5, out = 1030, in = 70;
        float[] x = random(rnd, positions * in);
        float[] w = random(rnd, out * in);
        float[] y = new float[positions * out + 9];
        Arrays.fill(y, 42f);
        vector.matmul(x, positions, w, null, out, in, y);
        float[] expected = new float[positions * out];
        scalar.matmul(x, positions, w, null, out, in, expected);
        assertClose("overwrite", x, positions, w, null, out, in, expected, y);
        for (int i = positions * out; i < y.length; i++) {
            assertThat(y[i]).isEqualTo(42f);
        }
    }

    @Test
    void concurrentCallersGetTheirOwnResults() throws Exception {
        SplittableRandom rnd = new SplittableRandom(6);
        int threads = 4, positions = 3, out = 777, in = 300;
        float[][] xs = new float[threads][];
        float[] w = random(rnd, out * in);
        float[][] expected = new float[threads][positions * out];
        for (int k = 0; k < threads; k++) {
            xs[k] = random(rnd, positions * in);
            scalar.matmul(xs[k], positions, w, null, out, in, expected[k]);
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            CountDownLatch go = new CountDownLatch(1);
            Future<?>[] done = new Future<?>[threads];
            for (int k = 0; k < threads; k++) {
                int id = k;
                done[k] = pool.submit(() -> {
                    go.await();
                    float[] y = new float[positions * out];
                    for (int r = 0; r < 50; r++) {
                        vector.matmul(xs[id], positions, w, null, out, in, y);
                        assertClose("thread " + id, xs[id], positions, w, null, out, in, expected[id], y);
                    }
                    return null;
                });
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void rejectsArraysTooSmall() {
        float[] x = new float[10];
        assertThatThrownBy(() -> vector.matmul(x, 2, new float[50], null, 5, 10, new float[10]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x holds 10 floats, 20");
        assertThatThrownBy(() -> vector.matmul(x, 1, new float[50], new float[4], 5, 10, new float[5]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bias");
        vector.matmul(x, 0, new float[50], null, 5, 10, new float[0]); // nothing to do
    }

    private void check(SplittableRandom rnd, int positions, int out, int in, boolean withBias) {
        float[] x = random(rnd, positions * in);
        float[] w = random(rnd, out * in);
        float[] bias = withBias ? random(rnd, out) : null;
        float[] expected = new float[positions * out];
        float[] actual = new float[positions * out];
        scalar.matmul(x, positions, w, bias, out, in, expected);
        vector.matmul(x, positions, w, bias, out, in, actual);
        assertClose("vector vs scalar", x, positions, w, bias, out, in, expected, actual);
    }
}
