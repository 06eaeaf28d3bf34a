package io.specula.autoconfigure;

import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * After a target update the meters name the target that serves: every Specula series tagged with the old target's
 * name is gone, the same series exist with the new name (no more, however many updates), and what is recorded after
 * the update lands on them.
 */
class SpeculaTargetMetersTests {

    private static final Pattern SERIES = Pattern.compile("^([a-z_]+)\\{[^}]*?(?:target|gen_ai_response_model)=\"([^\"]*)\"");

    @TempDir
    Path dir;

    @Test
    void metersFollowTheServingTargetAcrossUpdates() {
        Path target = TinyModelDirs.llama(this.dir.resolve("a").resolve("target"), 11);
        Path target2 = TinyModelDirs.llama(this.dir.resolve("target2"), 13);
        Path again = TinyModelDirs.llama(this.dir.resolve("b").resolve("target"), 17);
        Path drafter = TinyModelDirs.write(this.dir.resolve("drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(SpeculaChatAutoConfiguration.class,
                    SpeculaMetricsAutoConfiguration.class))
            .withPropertyValues("spring.ai.specula.target=" + target, "spring.ai.specula.drafter=" + drafter,
                    "spring.ai.specula.adaptive.enabled=true", "spring.ai.specula.adaptive.update-interval=1h")
            .run(context -> {
                assertThat(context).hasNotFailed();
                SpeculaEngine engine = context.getBean(SpeculaEngine.class);
                PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
                // What Spring Boot's MeterRegistryPostProcessor does with every MeterBinder bean.
                context.getBeansOfType(MeterBinder.class).values().forEach(b -> b.bindTo(registry));
                GenerationRequest request = GenerationRequest.of(new int[] { 1, 5, 9, 40 }, 8, SamplingParams.GREEDY);
                SpeculationSettings speculative = new SpeculationSettings(true, 3, DraftPolicy.FIXED);
                engine.generate(request, speculative, null);

                Set<String> before = series(registry.scrape(), "target");
                assertThat(before).as("every family of Specula meters names the start-up target")
                    .contains("specula_speculative_draft_tokens_total", "specula_draft_seconds_count",
                            "gen_ai_server_time_to_first_token_seconds_count", "specula_requests_running",
                            "specula_adaptive_drafter_version", "specula_adaptive_acceptance_rate",
                            "specula_policy_drafting", "specula_batch_passes_total");
                int meters = registry.getMeters().size();

                engine.updateTarget(target2);
                engine.generate(request, speculative, null);
                String scrape = registry.scrape();
                assertThat(series(scrape, "target")).as("no series names the replaced target").isEmpty();
                assertThat(series(scrape, "target2")).as("the same series name the new one").isEqualTo(before);
                assertThat(registry.getMeters()).hasSize(meters);
                assertThat(scrape).as("what is recorded after the update lands on the new series")
                    .containsPattern("specula_draft_seconds_count\\{[^}]*target=\"target2\"[^}]*\\} [1-9]")
                    .containsPattern("gen_ai_server_time_to_first_token_seconds_count\\{[^}]*"
                            + "gen_ai_response_model=\"target2\"[^}]*\\} 1");

                engine.updateTarget(again);
                scrape = registry.scrape();
                assertThat(series(scrape, "target2")).isEmpty();
                assertThat(series(scrape, "target")).isEqualTo(before);
                assertThat(registry.getMeters()).hasSize(meters);
            });
    }

    /** The Prometheus series names whose target (or gen_ai.response.model) tag is {@code target}. */
    private static Set<String> series(String scrape, String target) {
        Set<String> names = new TreeSet<>();
        scrape.lines().forEach(line -> {
            Matcher m = SERIES.matcher(line);
            if (m.find() && m.group(2).equals(target)) {
                names.add(m.group(1));
            }
        });
        return names;
    }

}
