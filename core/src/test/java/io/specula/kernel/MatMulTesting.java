package io.specula.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;

/** Random data and the tolerance shared by the kernel tests. */
final class MatMulTesting {

    /**
     * Relative tolerance for two float32 evaluations of the same sum of n products in different orders (sequential
     * vs lane-wise partial sums then a reduction, or libtorch's blocked GEMM). Each is within about
     * {@code sqrt(n) * 2^-24} of the exact value relative to {@code sum |x_i * w_i|} in practice ({@code n * 2^-24} at
     * worst); for the n ≤ 3000 used here that is ≤ 3.3e-6 typically, so 2e-5 leaves room and still catches a wrong
     * or missing product (whose size is ~1/n of the scale, ≥ 3e-4).
     */
    static final double REL_TOL = 2e-5;

    private MatMulTesting() {
    }

    static float[] random(SplittableRandom rnd, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextDouble(-1, 1);
        }
        return a;
    }

    /** Asserts actual ≈ expected for every output, each within REL_TOL of its own sum of |x_i w_i| (+ |bias|). */
    static void assertClose(String what, float[] x, int positions, float[] w, float[] bias, int out, int in,
            float[] expected, float[] actual) {
        for (int t = 0; t < positions; t++) {
            for (int o = 0; o < out; o++) {
                double scale = bias == null ? 0 : Math.abs(bias[o]);
                for (int i = 0; i < in; i++) {
                    scale += Math.abs((double) x[t * in + i] * w[o * in + i]);
                }
                double tol = REL_TOL * scale + Float.MIN_NORMAL;
                int k = t * out + o;
                assertThat((double) actual[k])
                        .as("%s: t=%d o=%d (positions=%d out=%d in=%d bias=%s)", what, t, o, positions, out, in,
                                bias != null)
                        .isCloseTo(expected[k], org.assertj.core.data.Offset.offset(tol));
            }
        }
    }
}
