package io.specula.kernel;

/**
 * bfloat16 weights (the top 16 bits of a float32), row-major, as a BF16 safetensors or GGUF tensor stores them.
 * Half the bytes of float32 per pass; widened exactly (a 16-bit shift) inside the kernels.
 */
public final class Bf16Matrix implements WeightMatrix {

    final short[] bits;
    private final int rows;
    private final int cols;

    public Bf16Matrix(short[] bits, int rows, int cols) {
        MatrixChecks.length("bf16 matrix", "bits", MatrixChecks.size("bf16 matrix", rows, cols), bits.length);
        this.bits = bits;
        this.rows = rows;
        this.cols = cols;
    }

    /** Rounds float32 weights to bfloat16 (nearest, ties to even), e.g. for tests and benchmarks. */
    public static Bf16Matrix round(float[] weights, int rows, int cols) {
        return new Bf16Matrix(HalfFloats.floatsToBf16(weights), rows, cols);
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
        return WeightFormat.BF16;
    }

    @Override
    public long bytes() {
        return 2L * rows * cols;
    }

    @Override
    public void row(int r, float[] dst, int at) {
        int from = r * cols;
        for (int i = 0; i < cols; i++) {
            dst[at + i] = HalfFloats.bf16ToFloat(bits[from + i]);
        }
    }

    @Override
    public String describe() {
        return "bf16";
    }
}
