package io.specula.kernel;

/**
 * Conversions between float32 and the two 16-bit float formats (IEEE binary16 "F16" and bfloat16 "BF16"), by hand
 * because {@code Float.float16ToFloat} only exists from Java 20, and because BF16 must never reach DJL (its PyTorch
 * engine aborts the JVM on BF16 tensors on the CPU). Widening is exact; narrowing rounds to nearest, ties to even, as
 * PyTorch does; NaN stays NaN and overflow becomes infinity. The kernels ({@link F16Matrix}, {@link Bf16Matrix}) widen
 * the same way in vector registers.
 */
public final class HalfFloats {

    private HalfFloats() {
    }

    /** IEEE 754 binary16 to float32; exact (every half value, subnormals included, is a float). */
    public static float f16ToFloat(short bits) {
        int h = bits & 0xffff;
        int sign = (h & 0x8000) << 16;
        int exp = (h >>> 10) & 0x1f;
        int mant = h & 0x3ff;
        if (exp == 0x1f) {
            // Infinity, or NaN with its payload moved to the top of the float mantissa.
            return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
        }
        if (exp == 0) {
            // Zero or subnormal: mant * 2^-24, exact in float.
            float v = mant * 0x1p-24f;
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + (127 - 15)) << 23) | (mant << 13));
    }

    /** float32 to IEEE 754 binary16, rounding to nearest even; values from 65520 up become infinity. */
    public static short floatToF16(float value) {
        int f = Float.floatToRawIntBits(value);
        int sign = (f >>> 16) & 0x8000;
        int abs = f & 0x7fffffff;
        if (abs >= 0x7f800000) {
            if (abs == 0x7f800000) {
                return (short) (sign | 0x7c00);
            }
            // NaN: keep the top payload bits and force the quiet bit so it cannot turn into infinity.
            return (short) (sign | 0x7e00 | ((abs >>> 13) & 0x3ff));
        }
        if (abs >= 0x477ff000) {
            // 65520 is halfway between 65504 (the largest half) and 65536; ties to even go up, to infinity.
            return (short) (sign | 0x7c00);
        }
        if (abs >= 0x38800000) {
            // Normal half (>= 2^-14): rebias the exponent, round away the 13 low mantissa bits.
            int h = (((abs >>> 23) - (127 - 15)) << 10) | ((abs >>> 13) & 0x3ff);
            int rest = abs & 0x1fff;
            if (rest > 0x1000 || (rest == 0x1000 && (h & 1) != 0)) {
                h++; // a carry out of the mantissa correctly bumps the exponent
            }
            return (short) (sign | h);
        }
        if (abs <= 0x33000000) {
            // At most 2^-25, half the smallest subnormal: the tie goes to the even neighbour, zero.
            return (short) sign;
        }
        // Subnormal half: the value in units of 2^-24, rounded.
        int exp = abs >>> 23;
        int mant = (abs & 0x7fffff) | 0x800000;
        int shift = 126 - exp;              // 14..24 here
        int h = mant >>> shift;
        int rest = mant & ((1 << shift) - 1);
        int halfway = 1 << (shift - 1);
        if (rest > halfway || (rest == halfway && (h & 1) != 0)) {
            h++; // may become 0x400, the smallest normal, which is the right bit pattern
        }
        return (short) (sign | h);
    }

    /** bfloat16 to float32: the 16 bits are the top half of the float. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** float32 to bfloat16, rounding to nearest even (PyTorch's rule); NaN stays a quiet NaN. */
    public static short floatToBf16(float value) {
        int f = Float.floatToRawIntBits(value);
        if ((f & 0x7fffffff) > 0x7f800000) {
            return (short) ((f >>> 16) | 0x0040);
        }
        int roundingBias = 0x7fff + ((f >>> 16) & 1);
        return (short) ((f + roundingBias) >>> 16);
    }

    /** Every value rounded to BF16. */
    public static short[] floatsToBf16(float[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = floatToBf16(values[i]);
        }
        return out;
    }

    /** Every value rounded to F16. */
    public static short[] floatsToF16(float[] values) {
        short[] out = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = floatToF16(values[i]);
        }
        return out;
    }
}
