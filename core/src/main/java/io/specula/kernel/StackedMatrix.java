package io.specula.kernel;

import java.util.List;

/**
 * Matrices of different formats stacked by rows, for a fused projection whose parts a file stores in different formats:
 * llama.cpp's Q4_K_M files keep q and k at 4 bits and v at 6 bits in some layers, so the fused q|k|v cannot be one
 * {@link Q4Matrix} or {@link Q8Matrix} without changing weights. The kernels multiply each part on its own (each output
 * row is computed by the part's own kernel exactly as it would be alone, so results and batch invariance are those of
 * the parts) and write the parts' outputs side by side, as one fused matrix would.
 */
public final class StackedMatrix implements WeightMatrix {

    private final WeightMatrix[] parts;
    private final int[] firstRow;
    private final int rows;
    private final int cols;

    /** @param parts at least two matrices of the same width, in row order */
    public StackedMatrix(List<? extends WeightMatrix> parts) {
        if (parts.size() < 2) {
            throw new IllegalArgumentException("stacked matrix: " + parts.size() + " parts, at least 2 expected");
        }
        this.parts = parts.toArray(new WeightMatrix[0]);
        this.firstRow = new int[this.parts.length];
        this.cols = this.parts[0].cols();
        long rows = 0;
        for (int i = 0; i < this.parts.length; i++) {
            WeightMatrix p = this.parts[i];
            if (p instanceof StackedMatrix) {
                throw new IllegalArgumentException("stacked matrix: parts must not be stacked themselves");
            }
            if (p.cols() != cols) {
                throw new IllegalArgumentException("stacked matrix: part " + i + " has " + p.cols() + " columns, "
                        + cols + " expected");
            }
            firstRow[i] = (int) rows;
            rows += p.rows();
        }
        MatrixChecks.size("stacked matrix", rows, cols);
        this.rows = (int) rows;
    }

    public List<WeightMatrix> parts() {
        return List.of(parts);
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
        return WeightFormat.STACKED;
    }

    @Override
    public long bytes() {
        long b = 0;
        for (WeightMatrix p : parts) {
            b += p.bytes();
        }
        return b;
    }

    @Override
    public void row(int r, float[] dst, int at) {
        int i = parts.length - 1;
        while (firstRow[i] > r) {
            i--;
        }
        parts[i].row(r - firstRow[i], dst, at);
    }

    @Override
    public String describe() {
        StringBuilder b = new StringBuilder();
        for (WeightMatrix p : parts) {
            b.append(b.length() == 0 ? "" : " + ").append(p.describe());
        }
        return b.toString();
    }

    /**
     * {@code y = x w^T + bias} with {@code kernel} run once per part; the parts' outputs are interleaved into the
     * positions' rows of {@code y}. Called by the kernels when they meet a stacked matrix.
     */
    static void matmul(MatMul kernel, float[] x, int positions, StackedMatrix w, float[] bias, float[] y) {
        for (int i = 0; i < w.parts.length; i++) {
            WeightMatrix p = w.parts[i];
            int n = p.rows();
            int first = w.firstRow[i];
            float[] partBias = bias == null ? null : java.util.Arrays.copyOfRange(bias, first, first + n);
            float[] out = new float[positions * n];
            kernel.matmul(x, positions, p, partBias, out);
            for (int t = 0; t < positions; t++) {
                System.arraycopy(out, t * n, y, t * w.rows + first, n);
            }
        }
    }
}
