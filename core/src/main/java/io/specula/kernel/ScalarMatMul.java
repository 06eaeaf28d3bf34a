package io.specula.kernel;

/** The plain-Java reference: one thread, no vectors. The fallback when the Vector API module is absent. */
public final class ScalarMatMul implements MatMul {

    @Override
    public void matmul(float[] x, int positions, float[] w, float[] bias, int out, int in, float[] y) {
        for (int o = 0; o < out; o++) {
            int row = o * in;
            for (int t = 0; t < positions; t++) {
                int xr = t * in;
                float sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += x[xr + i] * w[row + i];
                }
                y[t * out + o] = bias == null ? sum : sum + bias[o];
            }
        }
    }

    @Override
    public String name() {
        return "scalar";
    }
}
