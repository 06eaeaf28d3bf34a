package io.specula.kernel;

/** float32 weights, row-major. GGUF F32 tensors and float32 safetensors load into this as they are. */
public final class F32Matrix implements WeightMatrix {

    final float[] data;
    private final int rows;
    private final int cols;

    /**
     * @param data row-major weights; may be longer than {@code rows * cols} (only the first values are read), so a
     *             caller's buffer can serve as a smaller matrix
     */
    public F32Matrix(float[] data, int rows, int cols) {
        int n = MatrixChecks.size("f32 matrix", rows, cols);
        if (data.length < n) {
            throw new IllegalArgumentException("w holds " + data.length + " floats, " + n + " are needed for "
                    + rows + " x " + cols);
        }
        this.data = data;
        this.rows = rows;
        this.cols = cols;
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
        return WeightFormat.F32;
    }

    @Override
    public long bytes() {
        return 4L * rows * cols;
    }

    @Override
    public void row(int r, float[] dst, int at) {
        System.arraycopy(data, r * cols, dst, at, cols);
    }

    @Override
    public String describe() {
        return "f32";
    }

    /** The weights themselves (not a copy): row-major, {@code rows * cols} values used. */
    public float[] data() {
        return data;
    }
}
