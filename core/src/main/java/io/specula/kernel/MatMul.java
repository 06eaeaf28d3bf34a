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

    /**
     * As {@link #matmul}, with the weights stored as BF16 ({@link Bf16}): half the memory and half the bytes read per
     * pass, float32 arithmetic. Results are those of float32 weights rounded to BF16, not of the original weights, so
     * this is an option a configuration asks for, never a silent default. This default is the plain scalar loop.
     */
    default void matmulBf16(float[] x, int positions, short[] w, float[] bias, int out, int in, float[] y) {
        for (int o = 0; o < out; o++) {
            int row = o * in;
            for (int t = 0; t < positions; t++) {
                int xr = t * in;
                float sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += x[xr + i] * Bf16.toFloat(w[row + i]);
                }
                y[t * out + o] = bias == null ? sum : sum + bias[o];
            }
        }
    }

    /** A short name for logs and benchmarks ("vector", "scalar"). */
    String name();
}
