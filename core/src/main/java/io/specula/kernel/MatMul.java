package io.specula.kernel;

/**
 * The linear layers of decoding and verification: {@code y[t][o] = bias[o] + sum_i x[t][i] * w[o][i]} for a few
 * positions t at once. Weights are row-major {@code [out][in]} (the Hugging Face layout, no transpose); x and y are
 * row-major {@code [positions][in]} and {@code [positions][out]}. Implementations read each weight once per call, so a
 * pass over several positions costs far less than that many single-position passes.
 */
public interface MatMul {

    /**
     * @param x         activations, {@code positions * in} floats
     * @param positions number of rows of x (1 for plain decoding, γ+1 for verification, more for prefill)
     * @param w         weights, {@code out * in} floats
     * @param bias      {@code out} floats, or {@code null}
     * @param out       rows of w
     * @param in        columns of w
     * @param y         result, {@code positions * out} floats, overwritten
     */
    void matmul(float[] x, int positions, float[] w, float[] bias, int out, int in, float[] y);

    /** A short name for logs and benchmarks ("vector", "scalar"). */
    String name();
}
