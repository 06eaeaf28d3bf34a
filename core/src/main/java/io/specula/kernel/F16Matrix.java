package io.specula.kernel;

/**
 * IEEE binary16 weights, row-major, as an F16 safetensors or GGUF tensor stores them. Half the bytes of float32 per
 * pass; widened exactly inside the kernels (exponent and mantissa moved into place and rebased by a multiplication,
 * no F16C instructions being reachable from Java 17).
 *
 * <p>That widening is exact for every finite half, subnormals included, but would turn infinities and NaNs into large
 * finite numbers, so this class holds finite values only: {@link #of} gives a float32 matrix (exactly the same
 * values) for the rare tensor that has infinities or NaNs.
 */
public final class F16Matrix implements WeightMatrix {

    final short[] bits;
    private final int rows;
    private final int cols;

    /** @throws IllegalArgumentException when a value is infinite or NaN (see {@link #of}) */
    public F16Matrix(short[] bits, int rows, int cols) {
        this(bits, rows, cols, true);
    }

    private F16Matrix(short[] bits, int rows, int cols, boolean check) {
        MatrixChecks.length("f16 matrix", "bits", MatrixChecks.size("f16 matrix", rows, cols), bits.length);
        if (check && !allFinite(bits)) {
            throw new IllegalArgumentException("f16 matrix: holds infinite or NaN values (use F16Matrix.of)");
        }
        this.bits = bits;
        this.rows = rows;
        this.cols = cols;
    }

    /** An F16 matrix of these values, or the same values widened to float32 when some are infinite or NaN. */
    public static WeightMatrix of(short[] bits, int rows, int cols) {
        if (allFinite(bits)) {
            return new F16Matrix(bits, rows, cols, false);
        }
        float[] f = new float[bits.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = HalfFloats.f16ToFloat(bits[i]);
        }
        return new F32Matrix(f, rows, cols);
    }

    /** Rounds float32 weights to binary16 (nearest, ties to even), e.g. for tests and benchmarks. */
    public static WeightMatrix round(float[] weights, int rows, int cols) {
        return of(HalfFloats.floatsToF16(weights), rows, cols);
    }

    /** No value has the all-ones exponent of infinities and NaNs. */
    static boolean allFinite(short[] bits) {
        int any = 0;
        for (short b : bits) {
            any |= (~b & 0x7C00) == 0 ? 1 : 0;
        }
        return any == 0;
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
        return WeightFormat.F16;
    }

    @Override
    public long bytes() {
        return 2L * rows * cols;
    }

    @Override
    public void row(int r, float[] dst, int at) {
        int from = r * cols;
        for (int i = 0; i < cols; i++) {
            dst[at + i] = HalfFloats.f16ToFloat(bits[from + i]);
        }
    }

    @Override
    public String describe() {
        return "f16";
    }
}
