package io.specula.speculative.policy;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The two estimators the policy's costs come from: corrected within a few observations, whatever came before. */
class RecentEstimatesTest {

    @Test
    void aFewNewDraftsOutweighAnyNumberOfPoisonedOnes() {
        RecentFit fit = new RecentFit(0, 0, 0);
        // 32 drafts measured while the machine was loaded: 17.4 ms per drafted token.
        for (int i = 0; i < 32; i++) {
            int g = 1 + i % 2;
            fit.add(17_400_000.0 * g, 1, g, 0);
        }
        assertThat(fit.predict(1, 1, 0)).isCloseTo(17_400_000, within(100_000.0));
        // Then the drafter's real cost: 0.1 ms + 0.9 ms per token + 0.02 ms per catch-up token, ±3% noise.
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < RecentFit.TAKE_OVER + 1; i++) {
            int g = 1 + r.nextInt(4);
            int backlog = r.nextInt(3) == 0 ? r.nextInt(60) : r.nextInt(2);
            fit.add((100_000 + 900_000.0 * g + 20_000.0 * backlog) * (0.97 + 0.06 * r.nextDouble()), 1, g, backlog);
        }
        assertThat(fit.predict(1, 1, 0)).as("a one-token draft").isCloseTo(1_000_000, within(150_000.0));
        assertThat(fit.predict(1, 4, 0)).as("a four-token draft").isCloseTo(3_700_000, within(400_000.0));
        for (int i = 0; i < 3; i++) {
            assertThat(fit.coefficient(i)).as("coefficient %d", i).isNotNegative();
        }
    }

    @Test
    void aStallAmongDraftsBarelyMovesTheFit() {
        RecentFit fit = new RecentFit(0, 0, 0);
        for (int i = 0; i < 40; i++) {
            int g = 1 + i % 4;
            double nanos = 100_000 + 900_000.0 * g;
            fit.add(i % 9 == 4 ? nanos + 20_000_000 : nanos, 1, g, 0);
        }
        assertThat(fit.predict(1, 3, 0)).isCloseTo(2_800_000, within(30_000.0));
    }

    @Test
    void aWidthNotMeasuredForAWhileTakesItsNextMeasurementAtFaceValue() {
        RecentMedian median = new RecentMedian();
        long pass = 0;
        for (int i = 0; i < 32; i++) {
            median.add(18_000_000, ++pass);
        }
        // Many passes of other widths go by, then one measurement of this width.
        pass += 100;
        median.add(12_000_000, ++pass);
        assertThat(median.value()).isEqualTo(12_000_000);
        // Measured every pass, it takes several new observations to move the estimate.
        RecentMedian busy = new RecentMedian();
        for (int i = 0; i < 32; i++) {
            busy.add(18_000_000, ++pass);
        }
        busy.add(12_000_000, ++pass);
        assertThat(busy.value()).isEqualTo(18_000_000);
        for (int i = 0; i < RecentFit.TAKE_OVER; i++) {
            busy.add(12_000_000, ++pass);
        }
        assertThat(busy.value()).isEqualTo(12_000_000);
    }
}
