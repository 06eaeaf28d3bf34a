package io.specula.gguf;

/**
 * ggml's tensor types as GGUF files number them (gguf-py's {@code GGMLQuantizationType} and {@code GGML_QUANT_SIZES}):
 * every type has a block of {@link #blockSize} weights stored in {@link #typeSize} bytes. The reader needs the size of
 * every type to check a file's layout, including types the engine cannot run; which ones it can run is
 * {@link GgufWeights}' business.
 */
public enum GgmlType {
    F32(0, 1, 4),
    F16(1, 1, 2),
    Q4_0(2, 32, 2 + 16),
    Q4_1(3, 32, 2 + 2 + 16),
    Q5_0(6, 32, 2 + 4 + 16),
    Q5_1(7, 32, 2 + 2 + 4 + 16),
    Q8_0(8, 32, 2 + 32),
    Q8_1(9, 32, 2 + 2 + 32),
    Q2_K(10, 256, 2 + 2 + 256 / 16 + 256 / 4),
    Q3_K(11, 256, 2 + 256 / 4 + 256 / 8 + 12),
    Q4_K(12, 256, 2 + 2 + 256 / 2 + 12),
    Q5_K(13, 256, 2 + 2 + 256 / 2 + 256 / 8 + 12),
    Q6_K(14, 256, 2 + 256 / 2 + 256 / 4 + 256 / 16),
    Q8_K(15, 256, 4 + 256 + 256 / 8),
    IQ2_XXS(16, 256, 2 + 256 / 4),
    IQ2_XS(17, 256, 2 + 256 / 4 + 256 / 32),
    IQ3_XXS(18, 256, 2 + 256 / 4 + 256 / 8),
    IQ1_S(19, 256, 2 + 256 / 8 + 256 / 16),
    IQ4_NL(20, 32, 2 + 16),
    IQ3_S(21, 256, 2 + 256 / 4 + 256 / 8 + 256 / 32 + 4),
    IQ2_S(22, 256, 2 + 256 / 4 + 256 / 16),
    IQ4_XS(23, 256, 2 + 2 + 256 / 2 + 256 / 64),
    I8(24, 1, 1),
    I16(25, 1, 2),
    I32(26, 1, 4),
    I64(27, 1, 8),
    F64(28, 1, 8),
    IQ1_M(29, 256, 256 / 8 + 256 / 16 + 256 / 32),
    BF16(30, 1, 2),
    TQ1_0(34, 256, 2 + 4 * 13),
    TQ2_0(35, 256, 2 + 64),
    MXFP4(39, 32, 1 + 16);

    /** The number GGUF files store. */
    public final int id;
    /** Weights per block (1 for plain number types). */
    public final int blockSize;
    /** Bytes per block. */
    public final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    /** The type numbered {@code id}, or {@code null} for a number this table does not know. */
    public static GgmlType of(long id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** Bytes of a row of {@code cols} weights ({@code cols} a multiple of the block size). */
    public long rowBytes(long cols) {
        return cols / blockSize * typeSize;
    }
}
