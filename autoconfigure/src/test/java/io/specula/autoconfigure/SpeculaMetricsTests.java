package io.specula.autoconfigure;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.specula.engine.EngineInfo;
import io.specula.generate.DecodingListener.StepEvent;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.speculative.stats.SpeculationStatistics;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The meters as Prometheus sees them: these names are documented in docs/metrics.md and used by the dashboard. */
class SpeculaMetricsTests {

    @Test
    void prometheusNames() {
        SpeculationStatistics statistics = new SpeculationStatistics();
        SpeculaMetrics metrics = new SpeculaMetrics(statistics,
                new EngineInfo("tiny-target", "ngram", "cpu", "float32", "scalar", 128));
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        metrics.bindTo(registry);
        for (var listener : new io.specula.generate.DecodingListener[] { statistics, metrics }) {
            listener.onStep(new StepEvent(4, 3, 4, 2_000_000, 5_000_000));
            listener.onStep(new StepEvent(0, 0, 1, 0, 4_000_000));
            listener.onRequestFinished(new DecodingStats(true, 2, 1, 4, 3, new long[] { 1, 1, 1, 0 },
                    new long[] { 1, 1, 1, 1 }, 5, 0, 2_000_000, 9_000_000, 20_000_000), FinishReason.LENGTH);
        }
        String scrape = registry.scrape();
        String tags = "drafter=\"ngram\",target=\"tiny-target\"";
        assertThat(scrape).contains("specula_speculative_drafts_total{" + tags + "} 1.0")
            .contains("specula_speculative_draft_tokens_total{" + tags + "} 4.0")
            .contains("specula_speculative_accepted_tokens_total{" + tags + "} 3.0")
            .contains("specula_speculative_draft_tokens_per_position_total{drafter=\"ngram\",position=\"3\",target=\"tiny-target\"} 1.0")
            .contains("specula_speculative_accepted_tokens_per_position_total{drafter=\"ngram\",position=\"3\",target=\"tiny-target\"} 0.0")
            .contains("specula_speculative_acceptance_rate{" + tags + "} 0.75")
            .contains("specula_speculative_acceptance_length_count{" + tags + "} 1")
            .contains("specula_speculative_acceptance_length_sum{" + tags + "} 4.0")
            .contains("specula_speculative_acceptance_length_bucket{" + tags + ",le=\"4.0\"} 1")
            .contains("specula_draft_seconds_count{" + tags + "} 1")
            .contains("specula_verify_seconds_count{drafter=\"ngram\",speculative=\"false\",target=\"tiny-target\"} 1")
            .contains("specula_verify_seconds_sum{drafter=\"ngram\",speculative=\"true\",target=\"tiny-target\"} 0.005")
            .contains("specula_generated_tokens_total{" + tags + "} 5.0")
            .contains("specula_requests_total{drafter=\"ngram\",finish_reason=\"length\",target=\"tiny-target\"} 1.0")
            .contains("specula_requests_total{drafter=\"ngram\",finish_reason=\"stop\",target=\"tiny-target\"} 0.0");
        assertThat(scrape.lines().filter(l -> l.startsWith("specula_speculative_draft_tokens_per_position_total")))
            .hasSize(16);
    }

    @Test
    void batchingMeters() {
        var status = new io.specula.engine.BatchingStatus(true, 64, 3, 10, 27, 95, 2_500_000_000L, 4, 6, 21);
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        new SpeculaBatchingMetrics(() -> status, new EngineInfo("tiny-target", "ngram", "cpu", "float32", "vector", 128))
            .bindTo(registry);
        String tags = "drafter=\"ngram\",target=\"tiny-target\"";
        assertThat(registry.scrape()).contains("specula_batch_passes_total{" + tags + "} 10.0")
            .contains("specula_batch_sequences_total{" + tags + "} 27.0")
            .contains("specula_batch_positions_total{" + tags + "} 95.0")
            .contains("specula_batch_target_passes_total{" + tags + "} 6.0")
            .contains("specula_batch_target_sequences_total{" + tags + "} 21.0")
            .contains("specula_batch_pass_time_seconds_total{" + tags + "} 2.5")
            .contains("specula_batch_running{" + tags + "} 3.0");
    }
}
