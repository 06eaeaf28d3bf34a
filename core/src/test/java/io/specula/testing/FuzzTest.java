package io.specula.testing;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fuzz harness itself: reproducible inputs, and failures that name what replays them. */
class FuzzTest {

    @Test
    void aCaseDrawsTheSameInputEveryTimeAndDifferentCasesDiffer() {
        String a = Fuzz.string(Fuzz.random(42, "p", 7), 64) + JsonFuzz.edits(Fuzz.random(42, "p", 7), 3);
        String b = Fuzz.string(Fuzz.random(42, "p", 7), 64) + JsonFuzz.edits(Fuzz.random(42, "p", 7), 3);
        assertThat(a).isEqualTo(b);
        long distinct = java.util.stream.IntStream.range(0, 50)
            .mapToObj(i -> Fuzz.random(42, "p", i).nextLong()).distinct().count();
        assertThat(distinct).isEqualTo(50);
        assertThat(Fuzz.random(42, "p", 7).nextLong()).isNotEqualTo(Fuzz.random(42, "q", 7).nextLong())
            .isNotEqualTo(Fuzz.random(43, "p", 7).nextLong());
    }

    @Test
    void aFailingCaseNamesThePropertySeedCaseAndInput() {
        long seed = 0xABCDEFL;
        assertThatThrownBy(() -> Fuzz.runCase("FuzzTest.failing", seed, 3, 5, r -> r.nextInt(1000),
                (Integer i) -> assertThat(i).isNegative()))
            .isInstanceOf(AssertionError.class)
            .hasMessageContaining("FuzzTest.failing")
            .hasMessageContaining("case 3 of")
            .hasMessageContaining("-Dspecula.fuzz.seed=0x" + Long.toHexString(seed))
            .hasMessageContaining("-Dspecula.fuzz.case=3")
            .hasMessageContaining("with input " + Fuzz.random(seed, "FuzzTest.failing", 3).nextInt(1000));
    }

    @Test
    void aPropertyRunsItsBudgetOfCases() {
        assertThat(Fuzz.property("FuzzTest.budget", 7, r -> 0, i -> { })).hasSize(
                System.getProperty(Fuzz.CASE_PROPERTY) != null ? 1 : Fuzz.cases(7));
    }

    @Test
    void generatorsStayInTheirBounds() {
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 10_000; i++) {
            assertThat(Fuzz.intBetween(r, -3, 7)).isBetween(-3, 7);
            assertThat(Fuzz.intBetween(r, 5, 5)).isEqualTo(5);
            assertThat(Fuzz.length(r, 1, 4)).isBetween(1, 4);
            assertThat(Fuzz.bytes(r, 16)).hasSizeLessThanOrEqualTo(16);
            assertThat(Fuzz.string(r, 20)).hasSizeLessThanOrEqualTo(20);
            assertThat(JsonFuzz.edits(r, 3)).hasSizeBetween(1, 3);
        }
    }
}
