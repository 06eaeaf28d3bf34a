package io.specula.kernel;

/**
 * A weight matrix {@code [rows][cols]} (the Hugging Face layout: one row per output) in one of the formats the
 * kernels read: float32, the two 16-bit floats, and two block-quantized formats. Models hold these instead of float
 * arrays, so a checkpoint's BF16 weights stay 2 bytes each in memory and in every pass, and a quantized model reads
 * 1.125 or 0.75 bytes per weight.
 *
 * <p>{@link #row} gives the exact float32 values the kernels multiply by (widened or dequantized the same way, to the
 * bit), which is what the tests compare every kernel against and what an embedding lookup reads.
 *
 * <p>Implementations hold plain Java arrays (see docs/quantization.md for why not memory-mapped buffers) and are
 * immutable once built: the arrays are never written after construction.
 */
public sealed interface WeightMatrix permits F32Matrix, F16Matrix, Bf16Matrix, Q8Matrix, Q4Matrix,
        StackedMatrix {

    int rows();

    int cols();

    WeightFormat format();

    /** Bytes of memory the weights take (the arrays' payload). */
    long bytes();

    /** Row {@code r} as float32 values, exactly as the kernels see them, into {@code dst[at, at + cols)}. */
    void row(int r, float[] dst, int at);

    /** The format as users name it: "f32", "f16", "bf16", "q8_0", "q8 (blocks of 16)", "q4". */
    String describe();

    /** Every row as float32 ({@link #row}), row-major; for small matrices, tests and the DJL upload. */
    default float[] toFloats() {
        long n = (long) rows() * cols();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(describe() + " matrix of " + rows() + " x " + cols()
                    + " weights does not fit one float array");
        }
        float[] out = new float[(int) n];
        for (int r = 0; r < rows(); r++) {
            row(r, out, r * cols());
        }
        return out;
    }
}
