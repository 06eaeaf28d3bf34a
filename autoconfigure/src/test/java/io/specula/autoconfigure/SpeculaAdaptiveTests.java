package io.specula.autoconfigure;

import java.nio.file.Path;
import io.specula.speculative.policy.DraftPolicy;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
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
 * {@code spring.ai.specula.adaptive.*} over real tiny models: the properties reach the engine, the meters follow the
 * learning with a {@code drafter.version} tag for the serving version only, the endpoint reports it.
 */
class SpeculaAdaptiveTests {

    @TempDir
    Path dir;

    @Test
    void propertiesMetersAndEndpoint() {
        Path target = TinyModelDirs.llama(this.dir.resolve("target"), 11);
        Path drafter = TinyModelDirs.write(this.dir.resolve("drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(SpeculaChatAutoConfiguration.class))
            .withPropertyValues("spring.ai.specula.target=" + target, "spring.ai.specula.drafter=" + drafter,
                    "spring.ai.specula.adaptive.enabled=true", "spring.ai.specula.adaptive.update-interval=1h",
                    "spring.ai.specula.adaptive.held-out-fraction=0.5",
                    "spring.ai.specula.adaptive.min-held-out-positions=8",
                    "spring.ai.specula.adaptive.steps-per-update=10", "spring.ai.specula.adaptive.learning-rate=0.01",
                    "spring.ai.specula.adaptive.loss=cross-entropy",
                    "spring.ai.specula.adaptive.checkpoint-dir=" + this.dir.resolve("adapted"),
                    "spring.ai.specula.adaptive.checkpoint-retention=2")
            .run(context -> {
                assertThat(context).hasNotFailed();
                SpeculaEngine engine = context.getBean(SpeculaEngine.class);
                AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
                assertThat(adaptive.config().stepsPerUpdate()).isEqualTo(10);
                assertThat(adaptive.config().checkpointDir()).isEqualTo(this.dir.resolve("adapted"));

                SpeculaAdaptiveMetrics metrics = new SpeculaAdaptiveMetrics(adaptive, engine.info());
                PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
                metrics.bindTo(registry);
                assertThat(registry.scrape()).contains("specula_adaptive_drafter_version{")
                    .contains("drafter_version=\"0\"");

                for (int i = 0; i < 12; i++) {
                    int[] prompt = { 1, 5 + i, 9 + 2 * i, 40 + i };
                    engine.generate(GenerationRequest.of(prompt, 12, SamplingParams.GREEDY),
                            new SpeculationSettings(true, 3, DraftPolicy.FIXED), null);
                }
                AdaptiveDrafter.UpdateResult update = adaptive.update();
                assertThat(update.outcome()).as(update.toString())
                    .isIn(AdaptiveDrafter.Outcome.ACCEPTED, AdaptiveDrafter.Outcome.REJECTED);
                String scrape = registry.scrape();
                assertThat(scrape).contains("specula_adaptive_training_steps_total{drafter=\"drafter\",target=\"target\"} 10.0")
                    .contains("specula_adaptive_examples_total");
                String version = "drafter_version=\"" + adaptive.version() + "\"";
                assertThat(scrape.lines().filter(l -> l.startsWith("specula_adaptive_acceptance_rate{")))
                    .singleElement()
                    .satisfies(l -> assertThat(l).contains(version));

                SpeculativeEndpoint.SpeculativeDescriptor descriptor = new SpeculativeEndpoint(engine, null, 0)
                    .speculative();
                assertThat(descriptor.adaptive()).isNotNull();
                assertThat(descriptor.adaptive().trainingSteps()).isEqualTo(10);
                assertThat(descriptor.adaptive().requestsObserved()).isEqualTo(12);
            });
    }
}
