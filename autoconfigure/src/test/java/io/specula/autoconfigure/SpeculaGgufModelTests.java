package io.specula.autoconfigure;

import java.nio.file.Files;
import java.nio.file.Path;

import io.specula.chat.SpeculaChatModel;
import io.specula.engine.SpeculaEngine;
import io.specula.gguf.GgufExporter;
import io.specula.gguf.GgufWriter.TensorType;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedExceptionUtils;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code spring.ai.specula.target} and {@code .drafter} name a GGUF file or a model Ollama has pulled
 * ({@code ollama:NAME:TAG} under {@code spring.ai.specula.ollama-models}), and the auto-configured engine serves it.
 */
class SpeculaGgufModelTests {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SpeculaChatAutoConfiguration.class));

    /** A tiny Qwen2 with a chat template as a GGUF file, and the same file pulled into a fake Ollama store. */
    static Path[] models(Path dir) throws Exception {
        Path hf = TinyModelDirs.write(dir.resolve("hf"), Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL,
                ChatTemplateKind.QWEN, s -> s.seed(3));
        Path gguf = Files.createDirectories(dir.resolve("files")).resolve("tiny-qwen.gguf");
        GgufExporter.export(hf, gguf, TensorType.F16);
        Path store = dir.resolve("ollama");
        String digest = "e".repeat(64);
        Files.createDirectories(store.resolve("blobs"));
        Files.copy(gguf, store.resolve("blobs/sha256-" + digest));
        Path manifest = Files.createDirectories(store.resolve("manifests/registry.ollama.ai/library/tiny-qwen"))
            .resolve("f16");
        Files.writeString(manifest, "{\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.model\","
                + "\"digest\":\"sha256:" + digest + "\"}]}");
        return new Path[] { gguf, store };
    }

    @Test
    void aGgufTargetAndAnOllamaDrafterServeChat(@TempDir Path dir) throws Exception {
        Path[] m = models(dir);
        this.runner
            .withPropertyValues("spring.ai.specula.target=" + m[0], "spring.ai.specula.drafter=ollama:tiny-qwen:f16",
                    "spring.ai.specula.ollama-models=" + m[1], "spring.ai.specula.chat.temperature=0",
                    "spring.ai.specula.chat.max-tokens=8")
            .run(context -> {
                assertThat(context).hasNotFailed();
                var config = context.getBean(SpeculaEngineProperties.class).toEngineConfig();
                assertThat(config.targetDir()).isEqualTo(m[0].toAbsolutePath());
                assertThat(config.drafter().directory()).isEqualTo(m[1].resolve("blobs/sha256-" + "e".repeat(64)));
                SpeculaEngine engine = context.getBean(SpeculaEngine.class);
                assertThat(engine.info().targetName()).isEqualTo("tiny-qwen");
                assertThat(engine.info().drafterName()).isEqualTo("hf");   // general.name of the blob
                String answer = context.getBean(SpeculaChatModel.class).call("Hello there");
                assertThat(answer).isNotNull();
            });
    }

    @Test
    void anUnknownOllamaModelOrAFileThatIsNotGgufFailsNamingTheProperty(@TempDir Path dir) throws Exception {
        Path[] m = models(dir);
        this.runner
            .withPropertyValues("spring.ai.specula.target=ollama:qwen2.5:0.5b", "spring.ai.specula.ollama-models=" + m[1])
            .run(context -> {
                Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
                assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class)
                    .hasMessageContaining("spring.ai.specula.target");
                assertThat(((InvalidConfigurationPropertyValueException) cause).getReason())
                    .contains("Ollama model 'qwen2.5:0.5b'").contains("ollama pull qwen2.5:0.5b");
            });
        Path text = Files.writeString(dir.resolve("model.bin"), "not a model");
        this.runner.withPropertyValues("spring.ai.specula.target=" + text).run(context -> {
            Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
            assertThat(cause).hasMessageContaining("spring.ai.specula.target");
            assertThat(((InvalidConfigurationPropertyValueException) cause).getReason())
                .contains("is not a GGUF file");
        });
    }
}
