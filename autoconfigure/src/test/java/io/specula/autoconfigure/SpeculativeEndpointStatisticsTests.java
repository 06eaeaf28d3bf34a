package io.specula.autoconfigure;

import io.specula.generate.DecodingListener.StepEvent;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.speculative.stats.SpeculationStatistics;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The statistics part of the {@code speculative} endpoint, read from the engine's one {@link SpeculationStatistics}
 * (the counting itself is tested in core's {@code SpeculationStatisticsTest}).
 */
class SpeculativeEndpointStatisticsTests {

    static SpeculativeEndpoint.Totals totals(SpeculationStatistics statistics) {
        return SpeculativeEndpoint.Totals.of(statistics.snapshot());
    }

    static SpeculativeEndpoint.Recent recent(SpeculationStatistics statistics) {
        return SpeculativeEndpoint.Recent.of(statistics.snapshot());
    }

    static java.util.List<SpeculativeEndpoint.Position> byPosition(SpeculationStatistics statistics) {
        return SpeculativeEndpoint.Position.of(statistics.snapshot());
    }

    @Test
    void emptyStatisticsHaveNoRates() {
        SpeculationStatistics statistics = new SpeculationStatistics();
        assertThat(statistics.recentAcceptanceRate()).isNaN();
        assertThat(totals(statistics).acceptanceRate()).isNull();
        assertThat(recent(statistics).meanAcceptanceLength()).isNull();
        assertThat(byPosition(statistics)).isEmpty();
        assertThat(totals(statistics).requests()).isZero();
    }

    @Test
    void stepsAccumulateByPositionAndAcceptedTokensAreAPrefix() {
        SpeculationStatistics statistics = new SpeculationStatistics();
        statistics.onStep(new StepEvent(4, 2, 3, 100, 200));
        statistics.onStep(new StepEvent(2, 2, 3, 100, 200));
        statistics.onStep(new StepEvent(0, 0, 1, 0, 150));

        SpeculativeEndpoint.Totals totals = totals(statistics);
        assertThat(totals.steps()).isEqualTo(3);
        assertThat(totals.drafts()).isEqualTo(2);
        assertThat(totals.draftedTokens()).isEqualTo(6);
        assertThat(totals.acceptedTokens()).isEqualTo(4);
        assertThat(totals.acceptanceRate()).isCloseTo(4.0 / 6, within(1e-12));
        assertThat(totals.meanAcceptanceLength()).isEqualTo(3.0);
        assertThat(totals.draftSeconds()).isEqualTo(200e-9);
        assertThat(totals.verifySeconds()).isCloseTo(550e-9, within(1e-15));

        assertThat(byPosition(statistics)).containsExactly(new SpeculativeEndpoint.Position(0, 2, 2, 1.0),
                new SpeculativeEndpoint.Position(1, 2, 2, 1.0), new SpeculativeEndpoint.Position(2, 1, 0, 0.0),
                new SpeculativeEndpoint.Position(3, 1, 0, 0.0));
    }

    @Test
    void theRecentWindowForgetsOldSteps() {
        SpeculationStatistics statistics = new SpeculationStatistics(2);
        statistics.onStep(new StepEvent(4, 0, 1, 1, 1));
        statistics.onStep(new StepEvent(4, 4, 5, 1, 1));
        statistics.onStep(new StepEvent(4, 4, 5, 1, 1));
        assertThat(statistics.recentAcceptanceRate()).isEqualTo(1.0);
        assertThat(recent(statistics)).isEqualTo(new SpeculativeEndpoint.Recent(2, 2, 8, 8, 1.0, 5.0));
        assertThat(totals(statistics).acceptanceRate()).isCloseTo(8.0 / 12, within(1e-12));
    }

    @Test
    void requestsAreCountedByFinishReason() {
        SpeculationStatistics statistics = new SpeculationStatistics();
        DecodingStats stats = new DecodingStats(false, 1, 0, 0, 0, new long[0], new long[0], 7, 0, 0, 0, 0);
        statistics.onRequestFinished(stats, FinishReason.STOP);
        statistics.onRequestFinished(stats, FinishReason.CANCELLED);
        statistics.onRequestFinished(stats, FinishReason.STOP);
        assertThat(totals(statistics).requests()).isEqualTo(3);
        assertThat(totals(statistics).requestsByFinishReason()).containsEntry("stop", 2L)
            .containsEntry("length", 0L)
            .containsEntry("cancelled", 1L);
        assertThat(statistics.generatedTokens()).isEqualTo(21);
    }
}
