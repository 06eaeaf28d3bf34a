package io.specula.autoconfigure.tools;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.Test;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.support.ToolCallbacks;
import org.springframework.ai.tool.definition.ToolDefinition;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tool calling end to end, as an application does it: ChatClient.prompt().tools(...), call and stream, with a tiny
 * model the test trains to call the tool (ToolModel). Specula renders the tool into the template, reads the model's
 * call back; Spring AI's ToolCallingAdvisor runs the tool with the auto-configured ToolCallingManager and sends the
 * answer back through the template's tool role; the model then answers in words. Speculative (n-gram drafter).
 * The model was trained for WeatherTools' definition as Spring AI writes it: {@link #theModelWasTrainedForThisTool}
 * fails, saying to retrain it, if that definition changes.
 */
@SpringBootTest(classes = ToolCallingIntegrationTests.App.class,
        properties = { "spring.ai.specula.drafter=ngram", "spring.ai.specula.chat.temperature=0",
                "spring.ai.specula.chat.max-tokens=120" })
class ToolCallingIntegrationTests {

    /** Trained by ToolModel (scripts/train-tool-model.sh) for WeatherTools' definition; committed. */
    static final Path MODEL = ToolModel.COMMITTED.toAbsolutePath();

    @DynamicPropertySource
    static void model(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.specula.target", MODEL::toString);
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

    }

    @Autowired
    ChatClient.Builder chatClientBuilder;

    @Test
    void theModelWasTrainedForThisTool() throws Exception {
        ToolDefinition definition = ToolCallbacks.from(new WeatherTools())[0].getToolDefinition();
        String info = Files.readString(MODEL.resolve("tokenizer_config.json"));
        assertThat(info).as("retrain with scripts/train-tool-model.sh").contains(ToolModel.TEMPLATE.substring(0, 40));
        assertThat(definition.name()).as("retrain with scripts/train-tool-model.sh").isEqualTo("currentWeather");
        assertThat(definition.description()).as("retrain with scripts/train-tool-model.sh")
            .isEqualTo("Weather in a city");
    }

    @Test
    void callRunsTheToolAndAnswersWithItsResult() {
        WeatherTools tools = new WeatherTools();
        ChatResponse response = this.chatClientBuilder.build()
            .prompt()
            .user(ToolModel.QUESTION)
            .tools(tools)
            .call()
            .chatResponse();
        assertThat(tools.cities).containsExactly("Paris");
        assertThat(response.getResult().getOutput().getText()).isEqualTo(ToolModel.ANSWER);
        assertThat(response.hasToolCalls()).isFalse();
    }

    @Test
    void streamRunsTheToolAndStreamsTheAnswerOnly() {
        WeatherTools tools = new WeatherTools();
        List<String> chunks = this.chatClientBuilder.build()
            .prompt()
            .user(ToolModel.QUESTION)
            .tools(tools)
            .stream()
            .content()
            .collectList()
            .block();
        assertThat(tools.cities).containsExactly("Paris");
        // The call itself never reaches the application as text.
        assertThat(String.join("", chunks)).isEqualTo(ToolModel.ANSWER);
    }

    @Test
    void withoutToolsTheModelStillAnswersAsTrained() {
        // Not offered the tool, the prompt differs from what the model learned: whatever it says, no tool runs and
        // its text comes back as text (a call it might write is not parsed without tools).
        String answer = this.chatClientBuilder.build().prompt().user(ToolModel.QUESTION).call().content();
        assertThat(answer).isNotNull();
    }
}
