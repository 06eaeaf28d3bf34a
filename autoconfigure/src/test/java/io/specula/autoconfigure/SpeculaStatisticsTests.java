package io.specula.autoconfigure;

import io.specula.generate.DecodingListener.StepEvent;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class SpeculaStatisticsTests {

    @Test
    void emptyStatisticsHaveNoRates() {
        SpeculaStatistics statistics = new SpeculaStatistics();
        assertThat(statistics.recentAcceptanceRate()).isNaN();
        assertThat(statistics.totals().acceptanceRate()).isNull();
        assertThat(statistics.recent().meanAcceptanceLength()).isNull();
        assertThat(statistics.byPosition()).isEmpty();
        assertThat(statistics.totals().requests()).isZero();
    }

    @Test
    void stepsAccumulateByPositionAndAcceptedTokensAreAPrefix() {
        SpeculaStatistics statistics = new SpeculaStatistics();
        statistics.onStep(new StepEvent(4, 2, 3, 100, 200));
        statistics.onStep(new StepEvent(2, 2, 3, 100, 200));
        statistics.onStep(new StepEvent(0, 0, 1, 0, 150));

        SpeculaStatistics.Totals totals = statistics.totals();
        assertThat(totals.steps()).isEqualTo(3);
        assertThat(totals.drafts()).isEqualTo(2);
        assertThat(totals.draftedTokens()).isEqualTo(6);
        assertThat(totals.acceptedTokens()).isEqualTo(4);
        assertThat(totals.acceptanceRate()).isCloseTo(4.0 / 6, within(1e-12));
        assertThat(totals.meanAcceptanceLength()).isEqualTo(3.0);
        assertThat(totals.draftSeconds()).isEqualTo(200e-9);
        assertThat(totals.verifySeconds()).isCloseTo(550e-9, within(1e-15));

        assertThat(statistics.byPosition()).containsExactly(new SpeculaStatistics.Position(0, 2, 2, 1.0),
                new SpeculaStatistics.Position(1, 2, 2, 1.0), new SpeculaStatistics.Position(2, 1, 0, 0.0),
                new SpeculaStatistics.Position(3, 1, 0, 0.0));
    }

    @Test
    void theRecentWindowForgetsOldSteps() {
        SpeculaStatistics statistics = new SpeculaStatistics(2);
        statistics.onStep(new StepEvent(4, 0, 1, 1, 1));
        statistics.onStep(new StepEvent(4, 4, 5, 1, 1));
        statistics.onStep(new StepEvent(4, 4, 5, 1, 1));
        assertThat(statistics.recentAcceptanceRate()).isEqualTo(1.0);
        assertThat(statistics.recent()).isEqualTo(new SpeculaStatistics.Recent(2, 2, 8, 8, 1.0, 5.0));
        assertThat(statistics.totals().acceptanceRate()).isCloseTo(8.0 / 12, within(1e-12));
    }

    @Test
    void requestsAreCountedByFinishReason() {
        SpeculaStatistics statistics = new SpeculaStatistics();
        DecodingStats stats = new DecodingStats(false, 1, 0, 0, 0, new long[0], new long[0], 7, 0, 0, 0, 0);
        statistics.onRequestFinished(stats, FinishReason.STOP);
        statistics.onRequestFinished(stats, FinishReason.CANCELLED);
        statistics.onRequestFinished(stats, FinishReason.STOP);
        assertThat(statistics.totals().requests()).isEqualTo(3);
        assertThat(statistics.totals().requestsByFinishReason()).containsEntry("stop", 2L)
            .containsEntry("length", 0L)
            .containsEntry("cancelled", 1L);
        assertThat(statistics.generatedTokens()).isEqualTo(21);
    }
}
