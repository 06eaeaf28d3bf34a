package io.specula.kernel;

/**
 * The linear layers of decoding and verification: {@code y[t][o] = bias[o] + sum_i x[t][i] * w[o][i]} for a few
 * positions t at once. Weights are a {@link WeightMatrix} {@code [out][in]} (the Hugging Face layout, no transpose)
 * in any of its formats; x and y are row-major {@code [positions][in]} and {@code [positions][out]}. Implementations
 * read each weight once per call, so a pass over several positions costs far less than that many single-position
 * passes.
 *
 * <p><b>Batch invariance.</b> The value computed for a position depends only on its own activations and the weights:
 * not on how many positions are in the call, which others are, or how the rows are split among threads. Greedy
 * speculative decoding gives exactly the target's own output only because of this (a verification pass over γ+1
 * positions must score each position as a plain step would), and so does batching several requests into one pass.
 */
public interface MatMul {

    /**
     * @param x         activations, {@code positions * w.cols()} floats
     * @param positions number of rows of x (1 for plain decoding, γ+1 for verification, more for prefill)
     * @param w         weights, {@code [out][in]}
     * @param bias      {@code out} floats, or {@code null}
     * @param y         result, {@code positions * w.rows()} floats, overwritten
     */
    void matmul(float[] x, int positions, WeightMatrix w, float[] bias, float[] y);

    /** As {@link #matmul(float[], int, WeightMatrix, float[], float[])} with float32 weights {@code w[out][in]}. */
    default void matmul(float[] x, int positions, float[] w, float[] bias, int out, int in, float[] y) {
        matmul(x, positions, new F32Matrix(w, out, in), bias, y);
    }

    /** A short name for logs and benchmarks ("vector", "scalar"). */
    String name();

    /** Checks the arrays of a call against the matrix's shape, naming the one that is too small. */
    static void checkCall(float[] x, int positions, WeightMatrix w, float[] bias, float[] y) {
        if (positions < 0) {
            throw new IllegalArgumentException("positions " + positions);
        }
        need("x", (long) positions * w.cols(), x.length);
        need("y", (long) positions * w.rows(), y.length);
        if (bias != null) {
            need("bias", w.rows(), bias.length);
        }
    }

    private static void need(String array, long size, int length) {
        if (length < size) {
            throw new IllegalArgumentException(array + " holds " + length + " floats, " + size + " are needed");
        }
    }
}
