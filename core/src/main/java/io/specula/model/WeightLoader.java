package io.specula.model;

import io.specula.kernel.F32Matrix;
import io.specula.kernel.FloatRows;
import io.specula.kernel.Q4Matrix;
import io.specula.kernel.Q8Matrix;
import io.specula.kernel.WeightFormat;
import io.specula.kernel.WeightMatrix;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a model's weight matrices in the format its {@link Quantization} gives each role: as stored (F16 and BF16 stay
 * 16-bit, copied into one array per matrix, no float32 copy), or quantized while being read a few rows at a time, so
 * the float32 weights of a whole tensor are never in memory at once. Keeps the figures of a {@link WeightsSummary}.
 */
public final class WeightLoader {

    private final TensorSource source;
    private final Quantization quantization;
    private final boolean float32;
    private WeightFormat outputFormat;
    private final Map<String, Long> bytesByFormat = new LinkedHashMap<>();
    private long otherBytes;
    private int kept;
    private long readNanos;
    private long quantizeNanos;

    /**
     * @param float32 widen every matrix that is not quantized to float32 (the CPU's {@code dtype: float32}), as all
     *                weights were before 16-bit weights were kept as they are
     */
    public WeightLoader(TensorSource source, Quantization quantization, boolean float32) {
        this.source = source;
        this.quantization = quantization == null ? Quantization.NONE : quantization;
        this.float32 = float32;
    }

    /**
     * Overrides {@link Quantization#formatFor} for the output head (and the tied embedding): only to measure that
     * rule's choice ({@code specula perplexity --output-head}); {@code null} restores the rule.
     */
    public WeightLoader outputFormat(WeightFormat format) {
        this.outputFormat = format;
        return this;
    }

    public TensorSource source() {
        return source;
    }

    public Quantization quantization() {
        return quantization;
    }

    /** The tensors {@code parts} ({@code [rows_i, cols]} each) stacked by rows into one matrix for {@code role}. */
    public WeightMatrix matrix(Quantization.Role role, int cols, TensorSource.Part... parts) {
        WeightFormat format = outputFormat != null
                && (role == Quantization.Role.OUTPUT || role == Quantization.Role.TIED_EMBEDDING)
                ? outputFormat : quantization.formatFor(role);
        if (format == WeightFormat.F32 || format == WeightFormat.F16 || format == WeightFormat.BF16) {
            format = null; // an override to a float format means: as stored
        }
        if (format != null && cols % 32 != 0) {
            kept++;
            format = null;
        }
        long start = System.nanoTime();
        WeightMatrix m;
        if (format == null) {
            m = source.matrix(cols, parts);
            if (float32 && m.format() != WeightFormat.F32) {
                m = new F32Matrix(m.toFloats(), m.rows(), m.cols());
            }
            readNanos += System.nanoTime() - start;
        } else {
            int rows = 0;
            for (TensorSource.Part p : parts) {
                rows += p.rows();
            }
            FloatRows rowsOf = stacked(cols, parts);
            m = switch (format) {
                case Q8 -> Q8Matrix.quantize(rowsOf, rows, cols);
                case Q4 -> quantization == Quantization.Q4_0 ? Q4Matrix.quantizeSymmetric(rowsOf, rows, cols)
                        : Q4Matrix.quantizeWithMinimum(rowsOf, rows, cols);
                default -> throw new IllegalStateException("not a quantized format: " + format);
            };
            quantizeNanos += System.nanoTime() - start;
        }
        bytesByFormat.merge(m.describe(), m.bytes(), Long::sum);
        return m;
    }

    /** A small float32 tensor (norm weights, biases). */
    public float[] floats(String name, long... shape) {
        float[] f = source.floats(name, shape);
        otherBytes += 4L * f.length;
        return f;
    }

    public WeightsSummary summary() {
        return new WeightsSummary(quantization, bytesByFormat, otherBytes, kept, readNanos, quantizeNanos);
    }

    /** Rows of the stacked matrix, read from whichever parts they fall in. */
    private FloatRows stacked(int cols, TensorSource.Part... parts) {
        return (from, to, dst) -> {
            int first = 0;
            for (TensorSource.Part p : parts) {
                int last = first + p.rows();
                int a = Math.max(from, first);
                int b = Math.min(to, last);
                if (a < b) {
                    source.floatRows(p.name(), p.rows(), cols, a - first, b - first, dst, (a - from) * cols);
                }
                first = last;
            }
        };
    }
}
