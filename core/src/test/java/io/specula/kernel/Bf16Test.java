package io.specula.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class Bf16Test {

    @Test
    void knownValues() {
        assertThat(Bf16.fromFloat(1f)).isEqualTo((short) 0x3F80);
        assertThat(Bf16.fromFloat(-2f)).isEqualTo((short) 0xC000);
        assertThat(Bf16.toFloat((short) 0x3F80)).isEqualTo(1f);
        assertThat(Bf16.toFloat(Bf16.fromFloat(Float.POSITIVE_INFINITY))).isEqualTo(Float.POSITIVE_INFINITY);
        assertThat(Bf16.toFloat(Bf16.fromFloat(Float.NaN))).isNaN();
    }

    @Test
    void roundsToNearestTiesToEven() {
        // 1 + 2^-8 is halfway between 1 (even mantissa) and 1 + 2^-7: down; 1 + 3 * 2^-8 is halfway, up to even
        assertThat(Bf16.toFloat(Bf16.fromFloat(1f + 0x1p-8f))).isEqualTo(1f);
        assertThat(Bf16.toFloat(Bf16.fromFloat(1f + 3 * 0x1p-8f))).isEqualTo(1f + 0x1p-6f);
        assertThat(Bf16.toFloat(Bf16.fromFloat(1f + 0x1p-8f + 0x1p-20f))).isEqualTo(1f + 0x1p-7f);
        for (float f = -3.3f; f < 3.3f; f += 0.0137f) {
            assertThat((double) Bf16.toFloat(Bf16.fromFloat(f))).isCloseTo(f,
                    org.assertj.core.data.Offset.offset(Math.abs(f) * 0x1p-8)); // half an ulp of 8 significant bits
        }
    }
}
