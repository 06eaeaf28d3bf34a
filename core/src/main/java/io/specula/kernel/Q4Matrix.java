package io.specula.kernel;

/**
 * 4-bit block weights: each row is cut into blocks of 32 consecutive weights, each block stored as 32 unsigned 4-bit
 * values {@code q} (0..15, two per byte), a float scale {@code d} and a float minimum {@code m}; a weight is
 * {@code fma(q, d, m)} (one rounding, in the kernels and in {@link #row} alike). 0.75 bytes per weight.
 *
 * <p>Nibble order, as in ggml's Q4_0 and Q4_1: byte {@code j} (0..15) of a block holds column {@code j} in its low
 * nibble and column {@code j + 16} in its high nibble.
 *
 * <p>Made at load by {@link #quantizeSymmetric} (llama.cpp's Q4_0 rule) or {@link #quantizeWithMinimum} (a scale and
 * a minimum per block, least-squares fitted), or filled directly from GGUF tensors without widening to float32:
 * <ul>
 *   <li><b>Q4_0</b> (an f16 {@code d}, 16 bytes): {@code scale = d}, {@code min = -8 d}, bytes copied as they are
 *       (same nibble order). {@code fma(q, d, -8d)} is {@code d (q - 8)} rounded once, which is what llama.cpp
 *       computes.</li>
 *   <li><b>Q4_1</b> (f16 {@code d} and {@code m}, 16 bytes): {@code scale = d}, {@code min = m}, bytes copied.</li>
 *   <li><b>Q4_K</b> (super-blocks of 256: f16 {@code d} and {@code dmin}, eight 6-bit sub-block scales {@code sc}
 *       and minimums {@code mn}, 128 bytes): each sub-block of 32 is one block here with
 *       {@code scale = d * sc} and {@code min = -(dmin * mn)}, both exact in float (11-bit by 6-bit significand
 *       products); llama.cpp stores the 64 values of a pair of sub-blocks as the low then the high nibbles of 32
 *       bytes, so the nibbles are repacked into the order above (no value changes). llama.cpp computes
 *       {@code d*sc * q - dmin*mn} with an exact product, so {@code fma} gives the same float.</li>
 * </ul>
 * Layout: {@code quants[(row * cols + col) / 2]} by blocks as above, {@code scales} and {@code mins} indexed by
 * {@code (row * cols + col) / 32}.
 */
public final class Q4Matrix implements WeightMatrix {

    public static final int BLOCK = 32;
    /** One block's levels per quantizing thread (a new array per row was ~70 MB of garbage on a 1B model). */
    private static final ThreadLocal<int[]> LEVELS = ThreadLocal.withInitial(() -> new int[BLOCK]);

    final byte[] quants;
    final float[] scales;
    final float[] mins;
    private final int rows;
    private final int cols;

    /**
     * @param quants {@code rows * cols / 2} bytes, 16 per block in the nibble order above
     * @param scales one per block
     * @param mins   one per block
     */
    public Q4Matrix(byte[] quants, float[] scales, float[] mins, int rows, int cols) {
        int n = MatrixChecks.size("q4 matrix", rows, cols);
        MatrixChecks.blocks("q4 matrix", cols, BLOCK);
        MatrixChecks.length("q4 matrix", "quants", n / 2, quants.length);
        MatrixChecks.length("q4 matrix", "scales", n / BLOCK, scales.length);
        MatrixChecks.length("q4 matrix", "mins", n / BLOCK, mins.length);
        this.quants = quants;
        this.scales = scales;
        this.mins = mins;
        this.rows = rows;
        this.cols = cols;
    }

    /**
     * llama.cpp's Q4_0: per block {@code d = w_max / -8} where {@code w_max} is the weight of largest magnitude,
     * {@code q = min(15, trunc(w / d + 8.5))}; stored as scale {@code d}, minimum {@code -8 d}.
     */
    public static Q4Matrix quantizeSymmetric(FloatRows source, int rows, int cols) {
        return quantize(source, rows, cols, false);
    }

    /**
     * A scale and a minimum per block (as llama.cpp's Q4_1 and the sub-blocks of Q4_K): start from the block's range
     * ({@code d = (max - min) / 15}), then twice fit {@code d} and {@code m} by least squares to the chosen
     * {@code q} and choose {@code q} again (each step can only lower the squared error).
     */
    public static Q4Matrix quantizeWithMinimum(FloatRows source, int rows, int cols) {
        return quantize(source, rows, cols, true);
    }

    private static Q4Matrix quantize(FloatRows source, int rows, int cols, boolean withMinimum) {
        String what = withMinimum ? "q4_1 quantization" : "q4_0 quantization";
        int n = MatrixChecks.size(what, rows, cols);
        MatrixChecks.blocks(what, cols, BLOCK);
        byte[] q = new byte[n / 2];
        float[] s = new float[n / BLOCK];
        float[] m = new float[n / BLOCK];
        Quantizing.inChunks(source, rows, cols, (chunk, first, r, row) -> {
            int[] levels = LEVELS.get();
            for (int b = 0; b < cols; b += BLOCK) {
                int block = (row * cols + b) / BLOCK;
                if (withMinimum) {
                    fitWithMinimum(chunk, r * cols + b, levels, s, m, block);
                } else {
                    fitSymmetric(chunk, r * cols + b, levels, s, m, block);
                }
                pack(levels, q, block * 16);
            }
        });
        return new Q4Matrix(q, s, m, rows, cols);
    }

    private static void fitSymmetric(float[] w, int from, int[] q, float[] s, float[] m, int block) {
        float amax = 0;
        float max = 0;
        for (int i = 0; i < BLOCK; i++) {
            float v = w[from + i];
            if (Math.abs(v) > amax) {
                amax = Math.abs(v);
                max = v;
            }
        }
        float d = max / -8;
        float id = d != 0 ? 1 / d : 0;
        for (int i = 0; i < BLOCK; i++) {
            q[i] = Math.min(15, (int) (w[from + i] * id + 8.5f));
        }
        s[block] = d;
        m[block] = -8 * d;
    }

    /**
     * Levels nearest to the weights on the block's min..max grid, then twice: the least-squares scale and minimum for
     * those levels, and the nearest levels again. Neither step can increase the squared error (the least-squares fit
     * is optimal for the levels it is given, the nearest levels are optimal for the grid), so the result is never
     * worse than the min..max grid, and no error needs computing.
     */
    private static void fitWithMinimum(float[] w, int from, int[] q, float[] s, float[] m, int block) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        double sw = 0;
        for (int i = 0; i < BLOCK; i++) {
            float v = w[from + i];
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
            sw += v;
        }
        float d = (hi - lo) / 15;
        float min = lo;
        if (!(d > 0)) {          // a constant block (or NaN): every q = 0, the weight is the minimum
            java.util.Arrays.fill(q, 0);
            s[block] = 0;
            m[block] = lo;
            return;
        }
        for (int round = 0; round < 2; round++) {
            // the nearest levels, and the sums of the normal equations of w ~ d q + m for them (integer sums are
            // exact; the products go into two partial sums so the additions do not wait on each other)
            float id = 1 / d;
            int sq = 0;
            int sqq = 0;
            float sqw0 = 0;
            float sqw1 = 0;
            for (int i = 0; i < BLOCK; i += 2) {
                float v0 = w[from + i];
                float v1 = w[from + i + 1];
                int l0 = level((v0 - min) * id);
                int l1 = level((v1 - min) * id);
                q[i] = l0;
                q[i + 1] = l1;
                sq += l0 + l1;
                sqq += l0 * l0 + l1 * l1;
                sqw0 += l0 * v0;
                sqw1 += l1 * v1;
            }
            double sqw = (double) sqw0 + sqw1;
            double det = (double) BLOCK * sqq - (double) sq * sq;
            float fd = det > 0 ? (float) ((BLOCK * sqw - sq * sw) / det) : 0;
            if (!(fd > 0)) {
                break;
            }
            d = fd;
            min = (float) ((sw - fd * sq) / BLOCK);
        }
        assign(w, from, q, d, min);
        s[block] = d;
        m[block] = min;
    }

    /** The nearest of the 16 levels {@code fma(q, d, min)} to each weight (clamped). */
    private static void assign(float[] w, int from, int[] q, float d, float min) {
        float id = 1 / d;
        for (int i = 0; i < BLOCK; i++) {
            q[i] = level((w[from + i] - min) * id);
        }
    }

    /** The level 0..15 nearest to {@code x} (ties up): truncation is floor for {@code x + 0.5 >= 0}, and below that 0. */
    private static int level(float x) {
        return Math.max(0, Math.min(15, (int) (x + 0.5f)));
    }

    /** 32 levels into 16 bytes: byte j = level j | level (j + 16) << 4. */
    private static void pack(int[] q, byte[] out, int at) {
        for (int j = 0; j < 16; j++) {
            out[at + j] = (byte) (q[j] | (q[j + 16] << 4));
        }
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.Q4;
    }

    @Override
    public long bytes() {
        return (long) quants.length + 4L * scales.length + 4L * mins.length;
    }

    @Override
    public void row(int r, float[] dst, int at) {
        int blocks = cols / BLOCK;
        for (int b = 0; b < blocks; b++) {
            int block = r * blocks + b;
            float d = scales[block];
            float m = mins[block];
            int q = block * 16;
            int col = at + b * BLOCK;
            for (int j = 0; j < 16; j++) {
                int v = quants[q + j];
                dst[col + j] = Math.fma((float) (v & 15), d, m);
                dst[col + 16 + j] = Math.fma((float) ((v >> 4) & 15), d, m);
            }
        }
    }

    @Override
    public String describe() {
        return "q4";
    }
}
