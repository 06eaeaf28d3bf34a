package io.specula.model;

import io.specula.kernel.F32Matrix;
import io.specula.kernel.WeightMatrix;

/**
 * Where a model's weights come from: safetensors files on disk, or arrays built by a test or a trainer.
 *
 * <p>Small tensors (norms, biases) are read as float32 with {@link #floats}. Weight matrices are read by
 * {@link #matrix} in the precision they are stored in, several tensors stacked by rows into one matrix (the fused
 * q|k|v and gate|up projections), or a few rows at a time as float32 ({@link #floatRows}) for quantizing while
 * reading. The defaults serve sources that hold float32 arrays; {@link ModelWeights} reads files without a float32
 * copy.
 */
public interface TensorSource {

    /** One tensor of a stacked matrix: {@code rows} rows of the matrix's width. */
    record Part(String name, int rows) {
    }

    boolean contains(String name);

    /**
     * The tensor as float32 values (converted from F16/BF16 if stored so), checked against {@code shape}.
     *
     * @throws ModelFormatException naming the file and tensor when it is missing or its shape differs
     */
    float[] floats(String name, long... shape);

    /**
     * The 2-D tensors {@code parts}, each {@code [rows_i, cols]}, stacked by rows into one matrix in the precision
     * they are stored in (float32 when they differ). Shapes are checked as by {@link #floats}.
     */
    default WeightMatrix matrix(int cols, Part... parts) {
        int rows = 0;
        for (Part p : parts) {
            rows += p.rows();
        }
        float[] data = parts.length == 1 ? floats(parts[0].name(), parts[0].rows(), cols)
                : new float[Math.multiplyExact(rows, cols)];
        if (parts.length > 1) {
            int at = 0;
            for (Part p : parts) {
                float[] f = floats(p.name(), p.rows(), cols);
                System.arraycopy(f, 0, data, at, f.length);
                at += f.length;
            }
        }
        return new F32Matrix(data, rows, cols);
    }

    /**
     * Rows {@code [from, to)} of the 2-D tensor {@code [rows, cols]} as float32 (exactly widened), into
     * {@code dst[at, at + (to - from) * cols)}.
     */
    default void floatRows(String name, int rows, int cols, int from, int to, float[] dst, int at) {
        float[] all = floats(name, rows, cols);
        System.arraycopy(all, from * cols, dst, at, (to - from) * cols);
    }

    /**
     * Whether Gemma's RMSNorm weights are stored as the factor {@code 1 + w} (computed in float32) rather than as
     * {@code w}: llama.cpp's converter adds the 1 into GGUF files, Hugging Face checkpoints store {@code w}.
     */
    default boolean gemmaNormsIncludeOne() {
        return false;
    }
}
