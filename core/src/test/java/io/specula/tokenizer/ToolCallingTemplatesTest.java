package io.specula.tokenizer;

import io.specula.testing.TinyTokenizers;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real Qwen 2.5, Qwen 3 and Llama 3.1 chat templates with tools: they render the tools, an assistant's tool calls
 * and the tools' answers as their models were trained to read them, and the engine reads the calls back in the format
 * each template teaches.
 */
class ToolCallingTemplatesTest {

    static final ChatTool WEATHER = new ChatTool("weather", "The weather in a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");

    static final List<ChatMessage> CONVERSATION = List.of(new ChatMessage("user", "Weather in Paris?"),
            new ChatMessage("assistant", "", List.of(new ChatMessage.ToolCall("c1", "weather", "{\"city\":\"Paris\"}")),
                    null, null),
            new ChatMessage("tool", "\"sunny\"", List.of(), "c1", "weather"));

    static JinjavaChatTemplate template(String name) {
        return new JinjavaChatTemplate(TinyTokenizers.resource(name), "<|begin_of_text|>", "<|im_end|>");
    }

    @Test
    void qwenTemplatesRenderToolsCallsAndResponsesInTheHermesFormat() {
        for (String name : List.of("qwen2.5.jinja", "qwen3.jinja")) {
            JinjavaChatTemplate t = template(name);
            assertThat(t.supportsTools()).isTrue();
            assertThat(t.toolCallFormat()).isEqualTo(ToolCallFormat.HERMES);
            String rendered = t.render(CONVERSATION, List.of(WEATHER), true);
            assertThat(rendered).as(name)
                .contains("<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"weather\", \"description\": "
                        + "\"The weather in a city\", \"parameters\": {\"type\": \"object\", \"properties\": "
                        + "{\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}}}\n</tools>")
                .contains("<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>")
                .contains("<tool_response>\n\"sunny\"\n</tool_response>")
                .endsWith("<|im_start|>assistant\n");
            // Without tools the system prompt has no tools section: the same as before tools existed.
            assertThat(t.render(List.of(new ChatMessage("user", "Hi")), List.of(), true))
                .isEqualTo(t.render(List.of(new ChatMessage("user", "Hi")), true))
                .doesNotContain("<tools>");
        }
    }

    @Test
    void llama31RendersToolsAndReadsItsJsonCalls() {
        JinjavaChatTemplate t = template("llama3.1.jinja");
        assertThat(t.toolCallFormat()).isEqualTo(ToolCallFormat.LLAMA_JSON);
        String rendered = t.render(CONVERSATION, List.of(WEATHER), true);
        assertThat(rendered)
            .contains("\"name\": \"weather\"")
            .contains("{\"name\": \"weather\", \"parameters\": {\"city\": \"Paris\"}}")
            .contains("<|start_header_id|>ipython<|end_header_id|>\n\n\"sunny\"<|eot_id|>");
        ToolCallFormat.Parsed parsed = ToolCallFormat.LLAMA_JSON
            .parse("{\"name\": \"weather\", \"parameters\": {\"city\": \"Lyon\"}}");
        assertThat(parsed.text()).isEmpty();
        assertThat(parsed.toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.name()).isEqualTo("weather");
            assertThat(c.arguments()).isEqualTo("{\"city\":\"Lyon\"}");
        });
        assertThat(ToolCallFormat.LLAMA_JSON.parse("<|python_tag|>{\"name\": \"w\", \"parameters\": {}}").toolCalls())
            .hasSize(1);
        assertThat(ToolCallFormat.LLAMA_JSON.parse("It is sunny.").toolCalls()).isEmpty();
        assertThat(ToolCallFormat.LLAMA_JSON.heldFrom("  {\"na")).isZero();
        assertThat(ToolCallFormat.LLAMA_JSON.heldFrom("It is")).isEqualTo(-1);
    }

    @Test
    void hermesCallsAreReadBackAndAnythingElseStaysText() {
        ToolCallFormat.Parsed two = ToolCallFormat.HERMES.parse("Checking.\n<tool_call>\n{\"name\": \"a\", \"arguments\": "
                + "{\"x\": 1}}\n</tool_call>\n<tool_call>\n{\"name\": \"b\", \"arguments\": {}}\n</tool_call>");
        assertThat(two.text()).isEqualTo("Checking.");
        assertThat(two.toolCalls()).extracting(ChatMessage.ToolCall::name).containsExactly("a", "b");
        assertThat(two.toolCalls().get(0).arguments()).isEqualTo("{\"x\":1}");
        // Not a well-formed call: nothing the model wrote is lost.
        String broken = "<tool_call>\n{\"name\": \"a\", \"argu";
        assertThat(ToolCallFormat.HERMES.parse(broken)).isEqualTo(new ToolCallFormat.Parsed(broken, List.of()));
        assertThat(ToolCallFormat.HERMES.heldFrom("Hello <tool_")).isEqualTo(6);
        assertThat(ToolCallFormat.HERMES.heldFrom("Hello <b>")).isEqualTo(-1);
    }

    @Test
    void aTemplateWithoutToolsSaysSo() {
        JinjavaChatTemplate plain = new JinjavaChatTemplate("{% for m in messages %}{{ m.content }}{% endfor %}",
                null, null);
        assertThat(plain.supportsTools()).isFalse();
        assertThat(plain.toolCallFormat()).isEqualTo(ToolCallFormat.NONE);
    }
}
