package io.specula.starterapp;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.specula.InvalidRequestException;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.ObjectMapper;
import tools.jackson.databind.node.ObjectNode;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.tool.annotation.Tool;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A model whose chat template has no tool support (a ChatML template that renders only roles and contents, as
 * Qwen 1.5's or many fine-tunes' do) refuses {@code ChatClient.tools(..)} with an error that names the template and
 * says which templates take tools, call and stream: never an answer as if the tools did not exist. Without tools the
 * same model answers.
 */
@SpringBootTest(classes = StarterApplication.class,
        properties = { "spring.ai.specula.drafter=ngram", "spring.ai.specula.chat.max-tokens=8" })
class ToolsWithoutToolTemplateTests {

    /** ChatML with no 'tools' and no tool-call syntax. */
    static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + "
            + "message['content'] + '<|im_end|>\\n' }}{% endfor %}"
            + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    static final Path MODEL = write();

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.specula.target", MODEL::toString);
    }

    static class WeatherTools {

        final List<String> cities = new ArrayList<>();

        @Tool(description = "Weather in a city")
        String currentWeather(String city) {
            this.cities.add(city);
            return "sunny";
        }
    }

    @Autowired
    ChatClient.Builder chatClientBuilder;

    @Test
    void callWithToolsIsRefusedNamingTheTemplate() {
        WeatherTools tools = new WeatherTools();
        assertThatThrownBy(() -> this.chatClientBuilder.build().prompt().user("Weather in Paris?").tools(tools)
            .call().content())
            .isInstanceOf(InvalidRequestException.class)
            .hasMessageContaining("tools: the chat template (")
            .hasMessageContaining("tokenizer_config.json")
            .hasMessageContaining("does not render tools")
            .hasMessageContaining("Qwen 2.5/3, Llama 3.1+");
        assertThat(tools.cities).isEmpty();
    }

    @Test
    void streamWithToolsIsRefusedNamingTheTemplate() {
        WeatherTools tools = new WeatherTools();
        assertThatThrownBy(() -> this.chatClientBuilder.build().prompt().user("Weather in Paris?").tools(tools)
            .stream().content().collectList().block())
            .isInstanceOf(InvalidRequestException.class)
            .hasMessageContaining("does not render tools");
        assertThat(tools.cities).isEmpty();
    }

    @Test
    void withoutToolsTheSameModelAnswers() {
        String answer = this.chatClientBuilder.build().prompt().user("Weather in Paris?").call().content();
        assertThat(answer).isNotNull();
    }

    private static Path write() {
        try {
            Path dir = Files.createDirectories(Path.of("target", "starter-app-models", "chatml-no-tools"))
                .toAbsolutePath();
            int bos = TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, "<|endoftext|>");
            TinyModelDirs.write(dir, TinyModels.Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN,
                    spec -> spec.seed(11).bos(bos));
            Path config = dir.resolve("tokenizer_config.json");
            ObjectMapper json = new ObjectMapper();
            ObjectNode tokenizerConfig = (ObjectNode) json.readTree(config.toFile());
            tokenizerConfig.put("chat_template", CHATML);
            json.writeValue(config.toFile(), tokenizerConfig);
            return dir;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
