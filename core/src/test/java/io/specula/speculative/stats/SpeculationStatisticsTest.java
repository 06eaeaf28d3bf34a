package io.specula.speculative.stats;

import io.specula.generate.DecodingListener.StepEvent;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class SpeculationStatisticsTest {

    @Test
    void countersFollowVllmDefinitions() {
        SpeculationStatistics stats = new SpeculationStatistics();
        stats.onStep(new StepEvent(4, 2, 3, 100, 1000));
        stats.onStep(new StepEvent(3, 3, 4, 80, 900));
        stats.onStep(new StepEvent(0, 0, 1, 0, 700));
        stats.onRequestFinished(new DecodingStats(true, 3, 2, 7, 5, new long[4], new long[4], 9, 0, 180, 2600, 3000),
                FinishReason.STOP);
        stats.onDrafterFault("d", new RuntimeException());

        SpeculationSnapshot s = stats.snapshot();
        assertThat(s.steps()).isEqualTo(3);
        assertThat(s.drafts()).isEqualTo(2);
        assertThat(s.draftTokens()).isEqualTo(7);
        assertThat(s.acceptedTokens()).isEqualTo(5);
        assertThat(s.acceptanceRate()).isCloseTo(5 / 7.0, within(1e-12));
        assertThat(s.meanAcceptanceLength()).isCloseTo(1 + 5 / 2.0, within(1e-12));
        assertThat(s.acceptedByPosition()).startsWith(2, 2, 1, 0);
        assertThat(s.draftedByPosition()).startsWith(2, 2, 2, 1);
        assertThat(s.acceptanceRateAt(2)).isCloseTo(0.5, within(1e-12));
        assertThat(s.generatedTokens()).isEqualTo(9);
        assertThat(s.requests()).isEqualTo(1);
        assertThat(s.draftNanos()).isEqualTo(180);
        assertThat(s.verifyNanos()).isEqualTo(2600);
        assertThat(s.drafterFaults()).isEqualTo(1);
        assertThat(s.speculativeStepShare()).isCloseTo(2 / 3.0, within(1e-12));
    }

    @Test
    void recentWindowForgetsOldDrafts() {
        SpeculationStatistics stats = new SpeculationStatistics(4);
        for (int i = 0; i < 10; i++) {
            stats.onStep(new StepEvent(4, 0, 1, 0, 0));
        }
        for (int i = 0; i < 4; i++) {
            stats.onStep(new StepEvent(4, 4, 5, 0, 0));
        }
        SpeculationSnapshot s = stats.snapshot();
        assertThat(s.recentAcceptanceRate()).isEqualTo(1.0);
        assertThat(s.recentMeanAcceptanceLength()).isEqualTo(5.0);
        assertThat(s.acceptanceRate()).isCloseTo(16 / 56.0, within(1e-12));
    }

    @Test
    void snapshotIsImmutable() {
        SpeculationStatistics stats = new SpeculationStatistics();
        stats.onStep(new StepEvent(1, 1, 2, 0, 0));
        SpeculationSnapshot s = stats.snapshot();
        s.acceptedByPosition()[0] = 99;
        assertThat(s.acceptedByPosition()[0]).isEqualTo(1);
    }

    @Test
    void threadSafeUnderConcurrentSteps() throws InterruptedException {
        SpeculationStatistics stats = new SpeculationStatistics();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                for (int i = 0; i < 10_000; i++) {
                    stats.onStep(new StepEvent(3, 2, 3, 1, 1));
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        SpeculationSnapshot s = stats.snapshot();
        assertThat(s.drafts()).isEqualTo(40_000);
        assertThat(s.acceptedTokens()).isEqualTo(80_000);
        assertThat(s.acceptedByPosition()[1]).isEqualTo(40_000);
        assertThat(s.recentAcceptanceRate()).isCloseTo(2 / 3.0, within(1e-12));
    }
}
