package io.specula.kernel;

/**
 * 8-bit block weights: each row is cut into blocks of {@code blockSize} (32 or 16) consecutive weights, each block
 * stored as {@code blockSize} int8 values {@code q} and one float scale {@code d}; a weight is {@code q * d} (a float
 * multiplication, in the kernels and in {@link #row} alike). 1.125 bytes per weight with blocks of 32.
 *
 * <p>Made at load by {@link #quantize} (llama.cpp's Q8_0 rule: {@code d = max|w| / 127}, {@code q = rint(w / d)}),
 * or filled directly from GGUF tensors without widening anything to float32:
 * <ul>
 *   <li><b>Q8_0</b> (blocks of 32: an f16 {@code d} and 32 int8): {@code blockSize = 32}, {@code scales[b] = d}
 *       widened from f16 (exact), the 32 int8 copied.</li>
 *   <li><b>Q6_K</b> (super-blocks of 256: an f16 {@code d}, 16 int8 sub-scales {@code sc[j]} and 6-bit values
 *       {@code q6}; a weight is {@code d * sc[j] * (q6 - 32)}): {@code blockSize = 16}, {@code scales[j] = d * sc[j]}
 *       (exact in float: an 11-bit by 8-bit significand product), {@code q = q6 - 32} in -32..31. llama.cpp computes
 *       the same float {@code d * sc[j]} and multiplies it by the same integer, so the weights are identical.</li>
 * </ul>
 * Layout: {@code quants[row * cols + col]}, {@code scales[(row * cols + col) / blockSize]}.
 */
public final class Q8Matrix implements WeightMatrix {

    /** The block size of llama.cpp's Q8_0 and of {@link #quantize}. */
    public static final int BLOCK = 32;

    final byte[] quants;
    final float[] scales;
    final int shift;
    private final int rows;
    private final int cols;
    private final int blockSize;

    /**
     * @param quants    {@code rows * cols} int8 values, row-major
     * @param scales    one per block: {@code rows * cols / blockSize}
     * @param blockSize 32 (Q8_0) or 16 (Q6_K's sub-blocks); {@code cols} must be a multiple of it
     */
    public Q8Matrix(byte[] quants, float[] scales, int rows, int cols, int blockSize) {
        if (blockSize != 16 && blockSize != 32) {
            throw new IllegalArgumentException("q8 matrix: block size " + blockSize + ", expected 16 or 32");
        }
        int n = MatrixChecks.size("q8 matrix", rows, cols);
        MatrixChecks.blocks("q8 matrix", cols, blockSize);
        MatrixChecks.length("q8 matrix", "quants", n, quants.length);
        MatrixChecks.length("q8 matrix", "scales", n / blockSize, scales.length);
        this.quants = quants;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
        this.blockSize = blockSize;
        this.shift = Integer.numberOfTrailingZeros(blockSize);
    }

    /** Quantizes a matrix to Q8_0 (blocks of 32); {@code cols} must be a multiple of 32. */
    public static Q8Matrix quantize(WeightMatrix m) {
        return quantize(FloatRows.of(m), m.rows(), m.cols());
    }

    /**
     * Quantizes rows read a chunk at a time to Q8_0 (blocks of 32), on the kernel's threads: the weights are never
     * all held as float32.
     */
    public static Q8Matrix quantize(FloatRows source, int rows, int cols) {
        int n = MatrixChecks.size("q8_0 quantization", rows, cols);
        MatrixChecks.blocks("q8_0 quantization", cols, BLOCK);
        byte[] q = new byte[n];
        float[] s = new float[n / BLOCK];
        Quantizing.inChunks(source, rows, cols, (chunk, first, r, row) -> {
            for (int b = 0; b < cols; b += BLOCK) {
                quantizeBlock(chunk, r * cols + b, q, row * cols + b, s);
            }
        });
        return new Q8Matrix(q, s, rows, cols, BLOCK);
    }

    /**
     * llama.cpp's quantize_row_q8_0: d = max|w| / 127, q = w / d rounded to the nearest integer (ties to even here,
     * away from zero there: they differ only for a quotient exactly halfway, and {@code rint} is one instruction
     * where {@code Math.round} is a dozen).
     */
    static void quantizeBlock(float[] w, int from, byte[] q, int at, float[] scales) {
        float amax = 0;
        for (int i = 0; i < BLOCK; i++) {
            amax = Math.max(amax, Math.abs(w[from + i]));
        }
        float d = amax / 127;
        float id = d != 0 ? 1 / d : 0;
        for (int i = 0; i < BLOCK; i++) {
            q[at + i] = (byte) Math.rint(w[from + i] * id);
        }
        scales[at / BLOCK] = d;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    public int blockSize() {
        return blockSize;
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.Q8;
    }

    @Override
    public long bytes() {
        return (long) quants.length + 4L * scales.length;
    }

    @Override
    public void row(int r, float[] dst, int at) {
        int from = r * cols;
        for (int i = 0; i < cols; i++) {
            dst[at + i] = quants[from + i] * scales[(from + i) >> shift];
        }
    }

    @Override
    public String describe() {
        return blockSize == BLOCK ? "q8_0" : "q8 (blocks of " + blockSize + ")";
    }
}
