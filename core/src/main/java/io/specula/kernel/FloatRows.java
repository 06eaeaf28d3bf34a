package io.specula.kernel;

/**
 * A source of matrix rows as float32, read a few rows at a time: what the quantizers consume, so that a checkpoint
 * is quantized while it is read, without a float32 copy of a whole tensor.
 */
@FunctionalInterface
public interface FloatRows {

    /** Rows {@code [from, to)}, row-major, into {@code dst[0, (to - from) * cols)}. */
    void read(int from, int to, float[] dst);

    /** The rows of a matrix already in memory, as its kernels see them. */
    static FloatRows of(WeightMatrix m) {
        return (from, to, dst) -> {
            for (int r = from; r < to; r++) {
                m.row(r, dst, (r - from) * m.cols());
            }
        };
    }
}
