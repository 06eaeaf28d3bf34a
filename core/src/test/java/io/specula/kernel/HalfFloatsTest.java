package io.specula.kernel;

import org.junit.jupiter.api.Test;

import static io.specula.kernel.HalfFloats.bf16ToFloat;
import static io.specula.kernel.HalfFloats.f16ToFloat;
import static io.specula.kernel.HalfFloats.floatToBf16;
import static io.specula.kernel.HalfFloats.floatToF16;
import static org.assertj.core.api.Assertions.assertThat;

/** The 16-bit conversions, checked exhaustively over all 65536 bit patterns where that is cheap. */
class HalfFloatsTest {

    @Test
    void f16KnownValues() {
        assertThat(f16ToFloat((short) 0x3c00)).isEqualTo(1.0f);
        assertThat(f16ToFloat((short) 0xc000)).isEqualTo(-2.0f);
        assertThat(f16ToFloat((short) 0x7bff)).isEqualTo(65504f);
        assertThat(f16ToFloat((short) 0x0001)).isEqualTo(0x1p-24f);          // smallest subnormal
        assertThat(f16ToFloat((short) 0x03ff)).isEqualTo(1023 * 0x1p-24f);   // largest subnormal
        assertThat(f16ToFloat((short) 0x0400)).isEqualTo(0x1p-14f);          // smallest normal
        assertThat(f16ToFloat((short) 0x7c00)).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(f16ToFloat((short) 0xfc00)).isEqualTo(Float.NEGATIVE_INFINITY);
        assertThat(f16ToFloat((short) 0x7e00)).isNaN();
        assertThat(Float.floatToRawIntBits(f16ToFloat((short) 0x8000))).isEqualTo(0x80000000); // -0

        assertThat(floatToF16(1.0f)).isEqualTo((short) 0x3c00);
        assertThat(floatToF16(0.1f)).isEqualTo((short) 0x2e66);
        assertThat(floatToF16(65504f)).isEqualTo((short) 0x7bff);
        assertThat(floatToF16(65519.99f)).isEqualTo((short) 0x7bff);
        assertThat(floatToF16(65520f)).isEqualTo((short) 0x7c00);            // tie rounds to even: infinity
        assertThat(floatToF16(1e10f)).isEqualTo((short) 0x7c00);
        assertThat(floatToF16(-1e10f)).isEqualTo((short) 0xfc00);
        assertThat(floatToF16(0x1p-25f)).isEqualTo((short) 0);               // tie with zero
        assertThat(floatToF16(Math.nextUp(0x1p-25f))).isEqualTo((short) 1);
        assertThat(floatToF16(-0.0f)).isEqualTo((short) 0x8000);
        assertThat(f16ToFloat(floatToF16(Float.NaN))).isNaN();
        assertThat(f16ToFloat(floatToF16(Float.intBitsToFloat(0x7f800001)))).isNaN(); // payload in low bits only
    }

    @Test
    void everyF16ValueRoundTrips() {
        for (int h = 0; h < 0x10000; h++) {
            float f = f16ToFloat((short) h);
            if (Float.isNaN(f)) {
                assertThat(f16ToFloat(floatToF16(f))).isNaN();
            } else {
                assertThat(floatToF16(f) & 0xffff).as("half %04x", h).isEqualTo(h);
            }
        }
    }

    @Test
    void f16RoundsToNearestEvenBetweenEveryPairOfNeighbours() {
        for (int h = 0; h < 0x7bff; h++) {   // every pair of adjacent positive finite halves
            float lo = f16ToFloat((short) h);
            float hi = f16ToFloat((short) (h + 1));
            float mid = (lo + hi) / 2;        // exact: halves have 11 significant bits, floats 24
            int even = (h & 1) == 0 ? h : h + 1;
            assertThat(floatToF16(mid) & 0xffff).as("midpoint after %04x", h).isEqualTo(even);
            assertThat(floatToF16(Math.nextDown(mid)) & 0xffff).isEqualTo(h);
            assertThat(floatToF16(Math.nextUp(mid)) & 0xffff).isEqualTo(h + 1);
            assertThat(floatToF16(-mid) & 0xffff).isEqualTo(even | 0x8000);
        }
    }

    @Test
    void bf16IsTheTopHalfOfAFloat() {
        for (int b = 0; b < 0x10000; b++) {
            float f = bf16ToFloat((short) b);
            assertThat(Float.floatToRawIntBits(f)).isEqualTo(b << 16);
            if (!Float.isNaN(f)) {
                // Every bf16 value is kept exactly, whatever the rounding.
                assertThat(floatToBf16(f) & 0xffff).isEqualTo(b);
            }
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        assertThat(floatToBf16(Float.intBitsToFloat(0x3f807fff))).isEqualTo((short) 0x3f80); // below half: down
        assertThat(floatToBf16(Float.intBitsToFloat(0x3f808000))).isEqualTo((short) 0x3f80); // tie, even below
        assertThat(floatToBf16(Float.intBitsToFloat(0x3f818000))).isEqualTo((short) 0x3f82); // tie, even above
        assertThat(floatToBf16(Float.intBitsToFloat(0x3f808001))).isEqualTo((short) 0x3f81); // above half: up
        assertThat(floatToBf16(Float.intBitsToFloat(0xbf808001))).isEqualTo((short) 0xbf81); // sign kept
        assertThat(floatToBf16(Float.MAX_VALUE)).isEqualTo((short) 0x7f80);                    // overflows to inf
        assertThat(floatToBf16(Float.NEGATIVE_INFINITY)).isEqualTo((short) 0xff80);
        assertThat(bf16ToFloat(floatToBf16(Float.NaN))).isNaN();
        assertThat(bf16ToFloat(floatToBf16(Float.intBitsToFloat(0x7f800001)))).isNaN(); // would truncate to inf
        assertThat(floatToBf16(Float.MIN_VALUE)).isEqualTo((short) 0);   // subnormal below half: zero
    }

    @Test
    void bf16RoundingNeverMovesMoreThanHalfAUnit() {
        java.util.SplittableRandom r = new java.util.SplittableRandom(1);
        for (int i = 0; i < 100_000; i++) {
            float f = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-20, 20)));
            float b = bf16ToFloat(floatToBf16(f));
            float ulp = Math.ulp(b) * 65536;   // one bf16 unit at b's exponent
            assertThat(Math.abs(b - f)).isLessThanOrEqualTo(Math.max(ulp, Math.ulp(f) * 65536) / 2);
        }
    }
}
