package io.specula.model.safetensors;

/**
 * The element types of the safetensors format. Every type the format defines is known so that a file's header can be
 * checked (sizes, offsets) even when it holds tensors this engine never reads; only the floating-point types
 * {@link #F32}, {@link #F16} and {@link #BF16} can be converted to float32.
 */
public enum DType {
    BOOL(1, 0), U8(1, 1), I8(1, 2), F8_E5M2(1, 3), F8_E4M3(1, 4),
    I16(2, 5), U16(2, 6), F16(2, 7), BF16(2, 8),
    I32(4, 9), U32(4, 10), F32(4, 11),
    F64(8, 12), I64(8, 13), U64(8, 14);

    private final int byteSize;
    private final int rank;

    DType(int byteSize, int rank) {
        this.byteSize = byteSize;
        this.rank = rank;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** Whether {@link SafeTensorsFile#floats(String)} can convert tensors of this type. */
    public boolean isFloatConvertible() {
        return this == F32 || this == F16 || this == BF16;
    }

    /**
     * The order of the Rust safetensors library's dtype enum, which its writer sorts by (descending, then by name):
     * larger types first, so every tensor starts at a multiple of its element size.
     */
    int writeRank() {
        return rank;
    }

    /** The type named {@code name} in a header, or {@code null} when the format (as known here) has no such type. */
    public static DType fromName(String name) {
        // Exact, case-sensitive match: the format's names are upper case and the Python library rejects others.
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        return null;
    }
}
