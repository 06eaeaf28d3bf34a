package io.specula.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;

import io.specula.engine.EngineInfo;
import io.specula.engine.SpeculaEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.BDDMockito.given;
import static org.mockito.Mockito.mock;

/**
 * {@code spring.ai.specula.parse-special-tokens-in-messages} (issue 19, item 9) reaches the engine's configuration
 * (the engine's request path encodes prompts): off by default (special tokens only where the chat template puts
 * them), on when set.
 */
class SpecialTokensInMessagesPropertyTests {

    final SpeculaEngine engine = mock(SpeculaEngine.class);

    ApplicationContextRunner runner() {
        given(this.engine.info()).willReturn(new EngineInfo("t", "d", "cpu", "float32", "scalar", 128));
        return new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(SpeculaChatAutoConfiguration.class))
            .withBean(SpeculaEngine.class, () -> this.engine);
    }

    @Test
    void offByDefault(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{}");
        runner().withPropertyValues("spring.ai.specula.target=" + dir)
            .run(context -> assertThat(context.getBean(SpeculaEngineProperties.class).toEngineConfig()
                .parseSpecialTokensInMessages()).isFalse());
    }

    @Test
    void onWhenSet(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{}");
        runner().withPropertyValues("spring.ai.specula.target=" + dir,
                "spring.ai.specula.parse-special-tokens-in-messages=true")
            .run(context -> assertThat(context.getBean(SpeculaEngineProperties.class).toEngineConfig()
                .parseSpecialTokensInMessages()).isTrue());
    }
}
