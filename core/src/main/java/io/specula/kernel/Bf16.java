package io.specula.kernel;

/**
 * bfloat16 stored in a {@code short}: the high 16 bits of a float32 (same exponent range, 8 bits of mantissa).
 * Widening is exact; narrowing rounds to nearest, ties to even, as PyTorch does.
 */
public final class Bf16 {

    private Bf16() {
    }

    public static float toFloat(short bits) {
        return Float.intBitsToFloat(bits << 16);
    }

    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if (Float.isNaN(f)) {
            return (short) ((bits >>> 16) | 0x40); // keep it a (quiet) NaN
        }
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /** Rounds every value to BF16. */
    public static short[] fromFloats(float[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = fromFloat(values[i]);
        }
        return out;
    }
}
