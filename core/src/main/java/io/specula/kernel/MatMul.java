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

    /**
     * The gated half of a SwiGLU MLP: {@code gateUp = x w^T}, where w holds ff gate rows then ff up rows, and then
     * {@code act[t][i] = silu(gate[t][i]) * up[t][i]} ({@link #swiglu}). A kernel that splits rows across threads may
     * give each thread matching gate and up rows and their activations, so the activation is not a step of its own
     * on one thread; the numbers are the same either way.
     *
     * @param gateUp {@code positions * w.rows()} floats, overwritten with gate | up per position
     * @param act    {@code positions * w.rows() / 2} floats, overwritten
     */
    default void matmulSwiglu(float[] x, int positions, WeightMatrix w, float[] gateUp, float[] act) {
        matmul(x, positions, w, null, gateUp);
        int ff = w.rows() / 2;
        swiglu(gateUp, act, positions, ff, 0, ff);
    }

    /** {@code act[t][i] = silu(gate) * up} for columns {@code [from, to)}, where row t of gateUp holds gate then up. */
    static void swiglu(float[] gateUp, float[] act, int positions, int ff, int from, int to) {
        for (int t = 0; t < positions; t++) {
            int g = t * 2 * ff;
            for (int i = from; i < to; i++) {
                float gate = gateUp[g + i];
                float silu = gate / (1f + (float) Math.exp(-gate));
                act[t * ff + i] = silu * gateUp[g + ff + i];
            }
        }
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
