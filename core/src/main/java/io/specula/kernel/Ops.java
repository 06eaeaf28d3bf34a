package io.specula.kernel;

/**
 * The small per-token vector operations of a forward pass (attention over the KV cache, normalisation), which matter
 * next to the matrix products for small models. Get one from {@link MatMuls#bestOps()}; like {@link MatMul} there is
 * a Vector API implementation and a scalar one.
 */
public interface Ops {

    /** {@code sum_i a[aOff + i] * b[bOff + i]} for i in {@code [0, n)}. */
    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** {@code y[yOff + i] += s * x[xOff + i]} for i in {@code [0, n)}. */
    void axpy(float s, float[] x, int xOff, float[] y, int yOff, int n);

    /**
     * RMSNorm as in transformers' LlamaRMSNorm, in float32:
     * {@code out[outOff + i] = weight[i] * (x[xOff + i] * inv)} with {@code inv = 1 / sqrt(mean(x^2) + eps)}.
     * {@code out} may be {@code x} at the same offset.
     */
    void rmsnorm(float[] x, int xOff, float[] weight, float eps, float[] out, int outOff, int n);

    /** "vector" or "scalar". */
    String name();
}
