package io.specula.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;

import io.specula.engine.EngineConfig;
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

import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@code speculacontrol} write endpoint over real tiny models: absent unless the application gives it access;
 * then pause, resume, checkpoint, rollback and target updates act on the engine, and a target outside the allowed
 * folder is refused.
 */
class SpeculaControlEndpointTests {

    @TempDir
    Path dir;

    // Upper case: a bare ApplicationContextRunner converts enums strictly (an application accepts "unrestricted").
    private ApplicationContextRunner runner(Path target, Path drafter, String... more) {
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(SpeculaChatAutoConfiguration.class,
                    SpeculaControlEndpointAutoConfiguration.class))
            .withPropertyValues("spring.ai.specula.target=" + target, "spring.ai.specula.drafter=" + drafter,
                    "spring.ai.specula.adaptive.enabled=true", "spring.ai.specula.adaptive.update-interval=1h",
                    "spring.ai.specula.adaptive.checkpoint-dir=" + this.dir.resolve("adapted"),
                    "management.endpoints.web.exposure.include=*")
            .withPropertyValues(more);
    }

    private Path drafter() {
        return TinyModelDirs.write(this.dir.resolve("drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
    }

    @Test
    void offUnlessTheApplicationGivesItAccess() {
        Path target = TinyModelDirs.llama(this.dir.resolve("target"), 11);
        runner(target, drafter()).run(context -> {
            assertThat(context).hasNotFailed().hasSingleBean(SpeculaEngine.class)
                .doesNotHaveBean(SpeculaControlEndpoint.class);
        });
    }

    @Test
    void pauseResumeCheckpointRollbackAndTargetUpdate() throws Exception {
        Path models = this.dir.resolve("models");
        Path target = TinyModelDirs.llama(models.resolve("target"), 11);
        Path target2 = TinyModelDirs.llama(models.resolve("target2"), 13);
        Path outside = TinyModelDirs.llama(this.dir.resolve("outside"), 13);
        int[] prompt = { 1, 5, 9, 40 };
        GenerationRequest request = GenerationRequest.of(prompt, 12, SamplingParams.GREEDY);
        int[] expected;
        try (SpeculaEngine plain = SpeculaEngine.load(EngineConfig.of(target2, "none"))) {
            expected = plain.generate(request, SpeculationSettings.OFF, null).tokenIds();
        }
        runner(target, drafter(), "management.endpoint.speculacontrol.access=UNRESTRICTED",
                "management.endpoint.speculacontrol.target-dir=" + models)
            .run(context -> {
                assertThat(context).hasNotFailed();
                SpeculaEngine engine = context.getBean(SpeculaEngine.class);
                SpeculaControlEndpoint endpoint = context.getBean(SpeculaControlEndpoint.class);
                var adaptive = engine.adaptive().orElseThrow();

                assertThat(endpoint.act("pause", null, null).paused()).isTrue();
                assertThat(adaptive.paused()).isTrue();
                assertThat(endpoint.act("resume", null, null).paused()).isFalse();

                SpeculaControlEndpoint.ControlState cp = endpoint.act("checkpoint", null, null);
                assertThat(Path.of(cp.detail())).isDirectory();
                assertThat(Path.of(cp.detail()).resolve("model.safetensors")).exists();

                assertThat(endpoint.act("rollback", 0, null).drafterVersion()).isZero();
                assertThatThrownBy(() -> endpoint.act("rollback", 99, null))
                    .isInstanceOf(InvalidEndpointRequestException.class)
                    .hasMessageContaining("no checkpoint of drafter version 99");
                assertThatThrownBy(() -> endpoint.act("rollback", null, null))
                    .isInstanceOf(InvalidEndpointRequestException.class);
                assertThatThrownBy(() -> endpoint.act("explode", null, null))
                    .isInstanceOf(InvalidEndpointRequestException.class).hasMessageContaining("unknown action");

                assertThatThrownBy(() -> endpoint.act("target", null, outside.toString()))
                    .isInstanceOf(InvalidEndpointRequestException.class).hasMessageContaining("not inside");
                assertThatThrownBy(() -> endpoint.act("target", null, "../outside"))
                    .isInstanceOf(InvalidEndpointRequestException.class).hasMessageContaining("not inside");
                assertThat(engine.targetVersion()).isEqualTo(1);

                SpeculaControlEndpoint.ControlState updated = endpoint.act("target", null, "target2");
                assertThat(updated.targetVersion()).isEqualTo(2);
                assertThat(updated.targetName()).isEqualTo("target2");
                assertThat(engine.generate(request, new SpeculationSettings(true, 3, DraftPolicy.FIXED), null)
                    .tokenIds()).as("served by the new target, losslessly").containsExactly(expected);
                assertThat(endpoint.state().targetVersion()).isEqualTo(2);
            });
    }

    @Test
    void targetUpdatesAreRefusedWithoutATargetFolder() {
        Path target = TinyModelDirs.llama(this.dir.resolve("target"), 11);
        Path target2 = TinyModelDirs.llama(this.dir.resolve("target2"), 13);
        runner(target, drafter(), "management.endpoint.speculacontrol.access=UNRESTRICTED").run(context -> {
            SpeculaControlEndpoint endpoint = context.getBean(SpeculaControlEndpoint.class);
            assertThatThrownBy(() -> endpoint.act("target", null, target2.toString()))
                .isInstanceOf(InvalidEndpointRequestException.class).hasMessageContaining("target-dir is not set");
            assertThat(Files.exists(target2)).isTrue();
            assertThat(context.getBean(SpeculaEngine.class).targetVersion()).isEqualTo(1);
        });
    }

}
