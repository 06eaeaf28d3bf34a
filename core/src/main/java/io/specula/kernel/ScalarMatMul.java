package io.specula.kernel;

/**
 * The plain-Java reference: one thread, no vectors. The fallback when the Vector API module is absent, and for the
 * block formats where the vector kernels cannot run ({@link KernelSpecies#BLOCKS}).
 *
 * <p>Every format is computed the same way: a row of weights as {@link WeightMatrix#row} gives it (the values the
 * vector kernels multiply by), then one sequential float32 sum per position. The result differs from the vector
 * kernels' only in summation order (last bits), and like theirs never depends on the other positions of the call.
 */
public final class ScalarMatMul implements MatMul {

    @Override
    public void matmul(float[] x, int positions, WeightMatrix w, float[] bias, float[] y) {
        MatMul.checkCall(x, positions, w, bias, y);
        if (w instanceof StackedMatrix s) {
            StackedMatrix.matmul(this, x, positions, s, bias, y);
            return;
        }
        int out = w.rows();
        int in = w.cols();
        float[] row = w instanceof F32Matrix f ? f.data : new float[in];
        for (int o = 0; o < out; o++) {
            int at = 0;
            if (w instanceof F32Matrix) {
                at = o * in;
            } else {
                w.row(o, row, 0);
            }
            for (int t = 0; t < positions; t++) {
                int xr = t * in;
                float sum = 0;
                for (int i = 0; i < in; i++) {
                    sum += x[xr + i] * row[at + i];
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
