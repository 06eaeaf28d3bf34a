package io.specula.model;

import java.util.Locale;
import java.util.Map;

/**
 * What a model's weights became when loaded: their bytes in memory by format, how many matrices kept their stored
 * precision although a quantization was asked for, and the time spent reading and quantizing.
 *
 * @param quantization  what was asked for
 * @param bytesByFormat bytes of the weight matrices by format ("bf16", "q8_0", "q4", ...), in load order
 * @param otherBytes    bytes of the float32 norms and biases
 * @param kept          matrices left in their stored precision because their rows are not whole 32-weight blocks
 * @param readNanos     time reading tensors that were not quantized
 * @param quantizeNanos time reading and quantizing the quantized ones
 */
public record WeightsSummary(Quantization quantization, Map<String, Long> bytesByFormat, long otherBytes, int kept,
                             long readNanos, long quantizeNanos) {

    public WeightsSummary {
        bytesByFormat = Map.copyOf(bytesByFormat);
    }

    /** All weight bytes held in memory. */
    public long bytes() {
        return otherBytes + bytesByFormat.values().stream().mapToLong(Long::longValue).sum();
    }

    /** E.g. "1.03 GB (q4 0.73 GB, q8_0 0.30 GB), quantized to q4_1 at load in 3.1 s". */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(gb(bytes())).append(" (");
        bytesByFormat.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
                .forEach(e -> b.append(b.charAt(b.length() - 1) == '(' ? "" : ", ").append(e.getKey()).append(' ')
                        .append(gb(e.getValue())));
        b.append(')');
        if (quantization != Quantization.NONE) {
            b.append(String.format(Locale.ROOT, ", quantized to %s at load in %.1f s", quantization,
                    quantizeNanos / 1e9));
            if (kept > 0) {
                b.append(", ").append(kept).append(kept == 1 ? " matrix" : " matrices")
                        .append(" kept as stored (rows not a multiple of 32)");
            }
        }
        return b.toString();
    }

    private static String gb(long bytes) {
        return bytes >= 1e9 ? String.format(Locale.ROOT, "%.2f GB", bytes / 1e9)
                : String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
