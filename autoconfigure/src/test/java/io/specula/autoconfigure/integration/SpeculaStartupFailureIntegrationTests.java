package io.specula.autoconfigure.integration;

import java.nio.file.Files;
import java.nio.file.Path;

import io.specula.autoconfigure.SpeculaChatAutoConfiguration;
import io.specula.chat.SpeculaChatModel;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedExceptionUtils;

import static org.assertj.core.api.Assertions.assertThat;

/** Start-up with the real engine: good models load; bad ones fail naming the property and the path. */
class SpeculaStartupFailureIntegrationTests {

    final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SpeculaChatAutoConfiguration.class));

    @Test
    void realTinyModelsLoad(@TempDir Path dir) {
        Path target = TinyModelDirs.llama(dir.resolve("llama-target"), 1);
        this.runner.withPropertyValues("spring.ai.specula.target=" + target, "spring.ai.specula.drafter=ngram")
            .run(context -> {
                assertThat(context).hasNotFailed().hasSingleBean(SpeculaChatModel.class);
                assertThat(context.getBean(SpeculaChatModel.class).getEngine().info().drafterName())
                    .isEqualTo("ngram");
            });
    }

    @Test
    void aBrokenTargetFailsNamingThePropertyAndTheFile(@TempDir Path dir) throws Exception {
        Path target = Files.createDirectories(dir.resolve("broken"));
        Files.writeString(target.resolve("config.json"), "{ \"architectures\": [\"LlamaForCausalLM\"] }");
        this.runner.withPropertyValues("spring.ai.specula.target=" + target).run(context -> {
            assertThat(context).hasFailed();
            Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
            assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class);
            assertThat(((InvalidConfigurationPropertyValueException) cause).getName())
                .isEqualTo("spring.ai.specula.target");
            assertThat(cause.getMessage()).contains(target.toString());
        });
    }

    @Test
    void aDrafterWithAnotherTokenizerFailsNamingTheDrafterProperty(@TempDir Path dir) {
        Path target = TinyModelDirs.llama(dir.resolve("target"), 1);
        // bos_token_id set explicitly: the fixture's default for this tokenizer (-1) is refused by the loader
        int bos = TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.NONE, "<|endoftext|>");
        Path drafter = TinyModelDirs.write(dir.resolve("gpt2-drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.NONE, s -> s.seed(3).bos(bos));
        this.runner.withPropertyValues("spring.ai.specula.target=" + target, "spring.ai.specula.drafter=" + drafter)
            .run(context -> {
                Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
                assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class);
                assertThat(((InvalidConfigurationPropertyValueException) cause).getName())
                    .isEqualTo("spring.ai.specula.drafter");
                assertThat(cause.getMessage()).contains("gpt2-drafter").contains("does not share the tokenizer");
            });
    }
}
