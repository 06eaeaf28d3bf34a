package io.specula.kernel;

import static io.specula.kernel.MatMulTesting.assertClose;
import static io.specula.kernel.MatMulTesting.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every weight format's kernels against the float32 kernel on the same weights as {@link WeightMatrix#row} decodes
 * them, at 1 to 16 positions, on shapes around the vector width and the 4-row block:
 * <ul>
 *   <li>Vector API kernel of a format vs the Vector API F32 kernel on the decoded weights: <b>bit-identical</b>
 *       (tolerance 0). Both accumulate the same products in the same lanes in the same order.</li>
 *   <li>Scalar kernel vs Vector API kernel: within {@link MatMulTesting#REL_TOL} of each output's sum of
 *       |x_i w_i| (the two sum in different orders).</li>
 *   <li>Batch invariance: a position's output is bit-identical whether it is computed alone, inside a call of 2..16
 *       positions at any slot, or with the rows split over 1, 2 or 3 threads.</li>
 * </ul>
 */
class WeightFormatsTest {

    /** How each format is made from float32 weights [out][in]. */
    static List<Object[]> formats() {
        List<Object[]> f = new ArrayList<>();
        f.add(new Object[] {"f32", (BiFunction<float[], int[], WeightMatrix>) (w, s) -> new F32Matrix(w, s[0], s[1])});
        f.add(new Object[] {"f16", (BiFunction<float[], int[], WeightMatrix>) (w, s) -> F16Matrix.round(w, s[0], s[1])});
        f.add(new Object[] {"bf16", (BiFunction<float[], int[], WeightMatrix>) (w, s) -> Bf16Matrix.round(w, s[0], s[1])});
        f.add(new Object[] {"q8_0", (BiFunction<float[], int[], WeightMatrix>) (w, s) -> Q8Matrix.quantize(f32(w, s))});
        f.add(new Object[] {"q8/16", (BiFunction<float[], int[], WeightMatrix>) WeightFormatsTest::q8Blocks16});
        f.add(new Object[] {"q4_0", (BiFunction<float[], int[], WeightMatrix>) (w, s) ->
                Q4Matrix.quantizeSymmetric(FloatRows.of(f32(w, s)), s[0], s[1])});
        f.add(new Object[] {"q4_1", (BiFunction<float[], int[], WeightMatrix>) (w, s) ->
                Q4Matrix.quantizeWithMinimum(FloatRows.of(f32(w, s)), s[0], s[1])});
        // a GGUF Q4_K_M q|k|v: parts in different formats, each run by its own kernel
        f.add(new Object[] {"q4+q8/16+f16 stacked", (BiFunction<float[], int[], WeightMatrix>) WeightFormatsTest::stacked});
        return f;
    }

    /** The rows cut in three (the first two parts may be empty): 4-bit, 8-bit blocks of 16, f16. */
    static WeightMatrix stacked(float[] w, int[] s) {
        int a = s[0] / 3;
        int b = s[0] / 3;
        int c = s[0] - a - b;
        int in = s[1];
        float[] wa = java.util.Arrays.copyOfRange(w, 0, a * in);
        float[] wb = java.util.Arrays.copyOfRange(w, a * in, (a + b) * in);
        float[] wc = java.util.Arrays.copyOfRange(w, (a + b) * in, w.length);
        return new StackedMatrix(List.of(Q4Matrix.quantizeWithMinimum(FloatRows.of(f32(wa, new int[] {a, in})), a, in),
                q8Blocks16(wb, new int[] {b, in}), F16Matrix.round(wc, c, in)));
    }

    private static final int[] DENSE_INS = {1, 3, 7, 8, 15, 16, 17, 33, 100, 771};
    private static final int[] BLOCK_INS = {32, 64, 96, 160, 800};
    private static final int[] OUTS = {1, 2, 3, 4, 5, 7, 9, 33};

    private final VectorMatMul vector = new VectorMatMul();
    private final ScalarMatMul scalar = new ScalarMatMul();

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void vectorKernelIsTheF32KernelOnTheDecodedWeightsAndScalarIsClose(String name,
            BiFunction<float[], int[], WeightMatrix> make) {
        SplittableRandom rnd = new SplittableRandom(name.hashCode());
        int[] ins = name.startsWith("q") ? BLOCK_INS : DENSE_INS;
        for (int in : ins) {
            for (int out : OUTS) {
                WeightMatrix w = make.apply(random(rnd, out * in), new int[] {out, in});
                for (int positions = 1; positions <= 16; positions++) {
                    check(name, rnd, w, positions, (in + out + positions) % 2 == 0);
                }
            }
        }
        // large enough for the thread pool, rows not a multiple of 4
        for (int[] s : new int[][] {{515, 768}, {1001, 160}, {130, 2048}}) {
            WeightMatrix w = make.apply(random(rnd, s[0] * s[1]), s);
            for (int positions : new int[] {1, 2, 5, 9, 16, 17}) {
                check(name, rnd, w, positions, positions % 2 == 1);
            }
        }
    }

    private void check(String name, SplittableRandom rnd, WeightMatrix w, int positions, boolean withBias) {
        int out = w.rows();
        int in = w.cols();
        float[] x = random(rnd, positions * in);
        float[] bias = withBias ? random(rnd, out) : null;
        float[] decoded = w.toFloats();
        float[] expected = new float[positions * out];
        vector.matmul(x, positions, new F32Matrix(decoded, out, in), bias, expected);
        float[] y = new float[positions * out];
        vector.matmul(x, positions, w, bias, y);
        assertThat(y).as("%s %dx%d, %d positions: vector kernel vs F32 kernel on the decoded weights", name, out, in,
                positions).containsExactly(expected);
        float[] s = new float[positions * out];
        scalar.matmul(x, positions, w, bias, s);
        assertClose(name + " scalar vs vector", x, positions, decoded, bias, out, in, y, s);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void theFusedSwigluIsTheProductThenTheActivation(String name, BiFunction<float[], int[], WeightMatrix> make) {
        SplittableRandom rnd = new SplittableRandom(11 + name.hashCode());
        int in = name.startsWith("q") ? 160 : 227;
        // 2 x ff rows: small (calling thread), large enough for the pool, ff not a multiple of 4
        for (int ff : new int[] {3, 37, 1030}) {
            WeightMatrix w = make.apply(random(rnd, 2 * ff * in), new int[] {2 * ff, in});
            for (int positions : new int[] {1, 2, 3, 5, 7}) {
                float[] x = random(rnd, positions * in);
                for (MatMul kernel : new MatMul[] {vector, scalar, new VectorMatMul(new RowPool(3))}) {
                    float[] gateUp = new float[positions * 2 * ff];
                    kernel.matmul(x, positions, w, null, gateUp);
                    float[] expected = new float[positions * ff];
                    MatMul.swiglu(gateUp, expected, positions, ff, 0, ff);
                    float[] fusedGateUp = new float[positions * 2 * ff];
                    float[] act = new float[positions * ff];
                    kernel.matmulSwiglu(x, positions, w, fusedGateUp, act);
                    assertThat(fusedGateUp).as("%s ff %d, %d positions, %s: gate|up", name, ff, positions, kernel)
                            .containsExactly(gateUp);
                    assertThat(act).as("%s ff %d, %d positions, %s: activations", name, ff, positions, kernel)
                            .containsExactly(expected);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("formats")
    void aPositionsResultDoesNotDependOnTheBatchOrTheThreads(String name,
            BiFunction<float[], int[], WeightMatrix> make) {
        SplittableRandom rnd = new SplittableRandom(7 + name.hashCode());
        int out = 301;
        int in = name.startsWith("q") ? 224 : 227;
        WeightMatrix w = make.apply(random(rnd, out * in), new int[] {out, in});
        float[] row = random(rnd, in);
        for (MatMul kernel : new MatMul[] {vector, scalar, new VectorMatMul(new RowPool(1)),
                new VectorMatMul(new RowPool(3))}) {
            float[] alone = new float[out];
            kernel.matmul(row, 1, w, null, alone);
            float[] reference = new float[out];
            vector.matmul(row, 1, w, null, reference);
            if (kernel != scalar) {
                assertThat(alone).as("%s: %s alone vs the shared pool", name, kernel).containsExactly(reference);
            }
            for (int positions = 2; positions <= 16; positions++) {
                int slot = rnd.nextInt(positions);
                float[] x = random(rnd, positions * in);
                System.arraycopy(row, 0, x, slot * in, in);
                float[] y = new float[positions * out];
                kernel.matmul(x, positions, w, null, y);
                float[] mine = java.util.Arrays.copyOfRange(y, slot * out, (slot + 1) * out);
                assertThat(mine).as("%s, %s kernel: the row at slot %d of %d positions vs alone", name,
                        kernel.name(), slot, positions).containsExactly(alone);
            }
        }
    }

    @Test
    void q8RoundTripIsWithinHalfAStepAndKeepsRepresentableValues() {
        SplittableRandom rnd = new SplittableRandom(3);
        float[] w = random(rnd, 4 * 64);
        w[5] = 0;
        Q8Matrix q = Q8Matrix.quantize(f32(w, new int[] {4, 64}));
        float[] back = q.toFloats();
        for (int i = 0; i < w.length; i++) {
            float d = q.scales[i / 32];
            assertThat((double) Math.abs(back[i] - w[i])).isLessThanOrEqualTo(d / 2 * (1 + 1e-6) + 1e-12);
        }
        assertThat(back[5]).isZero();
        // a block already on the grid {q * d} comes back exactly
        float[] grid = new float[32];
        for (int i = 0; i < 32; i++) {
            grid[i] = (i - 16) * 0.25f;
        }
        grid[0] = -127 * 0.25f;
        assertThat(Q8Matrix.quantize(f32(grid, new int[] {1, 32})).toFloats()).containsExactly(grid);
        assertThat(q.bytes()).isEqualTo(4 * 64 + 4 * 8);
    }

    @Test
    void q4RoundTripsAreWithinHalfAStepAndTheFittedOneIsNoWorse() {
        SplittableRandom rnd = new SplittableRandom(4);
        int rows = 64;
        int cols = 256;
        float[] w = new float[rows * cols];
        for (int i = 0; i < w.length; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.02);
        }
        Q4Matrix sym = Q4Matrix.quantizeSymmetric(FloatRows.of(f32(w, new int[] {rows, cols})), rows, cols);
        Q4Matrix fit = Q4Matrix.quantizeWithMinimum(FloatRows.of(f32(w, new int[] {rows, cols})), rows, cols);
        float[] a = sym.toFloats();
        float[] b = fit.toFloats();
        double errSym = 0;
        double errFit = 0;
        for (int i = 0; i < w.length; i++) {
            int block = i / 32;
            // symmetric: levels (0..15 - 8) d, the weight of largest magnitude exactly on level 0; only weights beyond
            // 7.5 |d| on the other side are clamped to level 15, at most |d| away
            double d = Math.abs(sym.scales[block]);
            boolean clamped = Math.abs(w[i]) > 7.5 * d && Math.signum(w[i]) == Math.signum(sym.scales[block]);
            assertThat((double) Math.abs(a[i] - w[i])).isLessThanOrEqualTo((clamped ? d : d / 2) * 1.0001);
            errSym += (a[i] - w[i]) * (a[i] - w[i]);
            errFit += (b[i] - w[i]) * (b[i] - w[i]);
        }
        // the fitted scale and minimum beat the symmetric grid by a clear margin on Gaussian weights
        assertThat(errFit).isLessThan(0.8 * errSym);
        // and, block by block, are never worse than the plain min..max grid they start from
        for (int block = 0; block < rows * cols / 32; block++) {
            float lo = Float.MAX_VALUE;
            float hi = -Float.MAX_VALUE;
            for (int i = block * 32; i < block * 32 + 32; i++) {
                lo = Math.min(lo, w[i]);
                hi = Math.max(hi, w[i]);
            }
            float d = (hi - lo) / 15;
            double plain = 0;
            double fitted = 0;
            for (int i = block * 32; i < block * 32 + 32; i++) {
                float level = Math.fma((float) Math.max(0, Math.min(15, Math.round((w[i] - lo) / d))), d, lo);
                plain += (level - w[i]) * (level - w[i]);
                fitted += (b[i] - w[i]) * (b[i] - w[i]);
            }
            assertThat(fitted).as("block %d", block).isLessThanOrEqualTo(plain * (1 + 1e-5));
        }
        assertThat(fit.bytes()).isEqualTo(rows * cols / 2 + 8L * rows * cols / 32);
    }

    @Test
    void q4KeepsConstantAndZeroBlocksExactly() {
        float[] w = new float[64];
        java.util.Arrays.fill(w, 0, 32, 0.375f);   // constant block
        for (String kind : new String[] {"symmetric", "minimum"}) {
            Q4Matrix q = kind.equals("symmetric")
                    ? Q4Matrix.quantizeSymmetric(FloatRows.of(f32(w, new int[] {1, 64})), 1, 64)
                    : Q4Matrix.quantizeWithMinimum(FloatRows.of(f32(w, new int[] {1, 64})), 1, 64);
            float[] back = q.toFloats();
            assertThat(java.util.Arrays.copyOfRange(back, 32, 64)).as(kind).containsOnly(0f);
            if (kind.equals("minimum")) {
                assertThat(java.util.Arrays.copyOfRange(back, 0, 32)).containsOnly(0.375f);
            }
        }
    }

    /** What the javadoc of Q4Matrix and Q8Matrix promises the GGUF reader: the ggml types fit exactly. */
    @Test
    void ggmlBlockTypesAreRepresentedExactly() {
        SplittableRandom rnd = new SplittableRandom(5);
        for (int trial = 0; trial < 20_000; trial++) {
            // any finite f16 scale, subnormals included
            short dBits = (short) rnd.nextInt(0, 0x7C00);
            float d = HalfFloats.f16ToFloat(dBits);
            // Q4_0: scale d, minimum -8d gives d (q - 8) for every q, as llama.cpp computes it
            byte[] nibbles = new byte[16];
            for (int j = 0; j < 16; j++) {
                nibbles[j] = (byte) rnd.nextInt(256);
            }
            float[] row = new float[32];
            new Q4Matrix(nibbles, new float[] {d}, new float[] {-8 * d}, 1, 32).row(0, row, 0);
            for (int j = 0; j < 16; j++) {
                assertThat(row[j]).isEqualTo(((nibbles[j] & 15) - 8) * d);
                assertThat(row[j + 16]).isEqualTo((((nibbles[j] >> 4) & 15) - 8) * d);
            }
            // Q4_K: d * sc (6-bit) and dmin * m are exact floats, so fma(q, d sc, -dmin m) = d sc q - dmin m
            int sc = rnd.nextInt(64);
            assertThat((double) (d * sc)).isEqualTo((double) d * sc);
            // Q6_K: d * sc (int8) is an exact float
            int sc8 = rnd.nextInt(-128, 128);
            assertThat((double) (d * sc8)).isEqualTo((double) d * sc8);
        }
        // Q6_K as int8 blocks of 16: q6 - 32 in -32..31 times d * sc
        byte[] q = new byte[32];
        for (int i = 0; i < 32; i++) {
            q[i] = (byte) (i - 32 + (i % 3));
        }
        Q8Matrix k6 = new Q8Matrix(q, new float[] {0.5f * 3, 0.5f * -7}, 1, 32, 16);
        float[] row = k6.toFloats();
        for (int i = 0; i < 32; i++) {
            assertThat(row[i]).isEqualTo(q[i] * (i < 16 ? 1.5f : -3.5f));
        }
    }

    @Test
    void f16WithInfinitiesOrNaNsBecomesTheSameValuesInFloat32() {
        short[] bits = {0x3C00, (short) 0x7C00, (short) 0xFE00, 0x0001};
        WeightMatrix m = F16Matrix.of(bits, 2, 2);
        assertThat(m).isInstanceOf(F32Matrix.class);
        assertThat(m.toFloats()[0]).isEqualTo(1f);
        assertThat(m.toFloats()[1]).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(m.toFloats()[2]).isNaN();
        assertThat(m.toFloats()[3]).isEqualTo(0x1p-24f);
        assertThatThrownBy(() -> new F16Matrix(bits, 2, 2)).hasMessageContaining("infinite or NaN");
        assertThat(F16Matrix.of(new short[] {0x3C00, 0x0001, (short) 0x8001, (short) 0xFBFF}, 2, 2))
                .isInstanceOf(F16Matrix.class);
    }

    @Test
    void shapesAndBlocksAreChecked() {
        assertThatThrownBy(() -> new Q8Matrix(new byte[48], new float[1], 1, 48, 32))
                .hasMessageContaining("48 columns are not a multiple of the block size 32");
        assertThatThrownBy(() -> new Q8Matrix(new byte[32], new float[1], 1, 32, 8))
                .hasMessageContaining("block size 8");
        assertThatThrownBy(() -> new Q4Matrix(new byte[16], new float[1], new float[2], 1, 32))
                .hasMessageContaining("mins holds 2 values, 1 expected");
        assertThatThrownBy(() -> new Bf16Matrix(new short[5], 2, 3)).hasMessageContaining("bits holds 5 values, 6");
        assertThatThrownBy(() -> vector.matmul(new float[3], 1, new F32Matrix(new float[8], 2, 4), null,
                new float[2])).hasMessageContaining("x holds 3 floats, 4 are needed");
    }

    static F32Matrix f32(float[] w, int[] shape) {
        return new F32Matrix(w, shape[0], shape[1]);
    }

    /** An int8 matrix with blocks of 16, as a GGUF Q6_K tensor becomes: levels -32..31, one scale per 16. */
    static WeightMatrix q8Blocks16(float[] w, int[] shape) {
        int n = shape[0] * shape[1];
        byte[] q = new byte[n];
        float[] s = new float[n / 16];
        for (int b = 0; b < n / 16; b++) {
            float amax = 0;
            for (int i = 0; i < 16; i++) {
                amax = Math.max(amax, Math.abs(w[b * 16 + i]));
            }
            s[b] = amax / 31;
            for (int i = 0; i < 16; i++) {
                q[b * 16 + i] = (byte) Math.max(-32, Math.min(31, Math.round(w[b * 16 + i] / (s[b] == 0 ? 1 : s[b]))));
            }
        }
        return new Q8Matrix(q, s, shape[0], shape[1], 16);
    }
}
