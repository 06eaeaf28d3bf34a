package io.specula.kernel;

import static io.specula.kernel.MatMulTesting.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class OpsTest {

    private static final int[] SIZES = {0, 1, 5, 8, 15, 16, 17, 63, 64, 65, 128, 130, 768};

    private final Ops vector = new VectorOps();
    private final Ops scalar = new ScalarOps();

    @Test
    void dotMatchesScalar() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int n : SIZES) {
            float[] a = random(rnd, n + 7);
            float[] b = random(rnd, n + 3);
            double scale = 0;
            for (int i = 0; i < n; i++) {
                scale += Math.abs((double) a[5 + i] * b[2 + i]);
            }
            assertThat(vector.dot(a, 5, b, 2, n)).as("n=%d", n)
                    .isCloseTo(scalar.dot(a, 5, b, 2, n), offset((float) (MatMulTesting.REL_TOL * scale) + 1e-30f));
        }
    }

    @Test
    void axpyIsExactlyTheScalarLoop() {
        SplittableRandom rnd = new SplittableRandom(2);
        for (int n : SIZES) {
            float[] x = random(rnd, n + 4);
            float[] y1 = random(rnd, n + 9);
            float[] y2 = y1.clone();
            vector.axpy(0.37f, x, 4, y1, 6, n);
            scalar.axpy(0.37f, x, 4, y2, 6, n);
            assertThat(y1).as("n=%d", n).containsExactly(y2);
        }
    }

    @Test
    void rmsnormMatchesScalarAndWorksInPlace() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int n : SIZES) {
            if (n == 0) {
                continue;
            }
            float[] x = random(rnd, n + 11);
            float[] weight = random(rnd, n);
            float[] out1 = new float[n + 2];
            float[] out2 = new float[n + 2];
            vector.rmsnorm(x, 11, weight, 1e-6f, out1, 2, n);
            scalar.rmsnorm(x, 11, weight, 1e-6f, out2, 2, n);
            for (int i = 0; i < n + 2; i++) {
                // the sum of squares differs in the last bits; everything after it is the same float arithmetic
                assertThat(out1[i]).as("n=%d i=%d", n, i).isCloseTo(out2[i], offset(1e-5f * Math.abs(out2[i]) + 1e-30f));
            }
            float[] inPlace = x.clone();
            vector.rmsnorm(inPlace, 11, weight, 1e-6f, inPlace, 11, n);
            for (int i = 0; i < n; i++) {
                assertThat(inPlace[11 + i]).isEqualTo(out1[2 + i]);
            }
        }
    }

    @Test
    void rmsnormOfKnownValues() {
        float[] x = {3, 4};
        float[] out = new float[2];
        // mean of squares 12.5 -> inv = 1/sqrt(12.5)
        vector.rmsnorm(x, 0, new float[] {1, 2}, 0f, out, 0, 2);
        assertThat(out[0]).isCloseTo((float) (3 / Math.sqrt(12.5)), offset(1e-6f));
        assertThat(out[1]).isCloseTo((float) (8 / Math.sqrt(12.5)), offset(1e-6f));
    }
}
