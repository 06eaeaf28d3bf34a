package io.specula.autoconfigure.tools;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTool;
import io.specula.tokenizer.JinjavaChatTemplate;
import io.specula.training.ModelShape;
import io.specula.training.SafeTensorsFiles;
import io.specula.training.Trainer;
import io.specula.training.TrainingOptions;

/**
 * A tiny model trained by the project's own trainer to use a tool: asked for the weather in Paris with
 * the weather tool offered, it writes a call in the Hermes format ({@code <tool_call>{"name": ..., "arguments":
 * ...}</tool_call>}, Qwen's); given the tool's answer, it answers in words. Its chat template is a compact one of the
 * Hermes family: it takes {@code tools}, renders an assistant's {@code tool_calls} and the {@code tool} role, as
 * Qwen's do (the full Qwen and Llama templates are tested in core's ToolCallingTemplatesTest), so that the two
 * conversations (about 80 and 150 tokens, within one training window of 192) are short enough to learn by heart in 250
 * steps.
 *
 * <p>Training takes minutes on two busy cores (DJL's cost per operation), too long for every build: the model is
 * committed (src/test/resources/tool-model, about 400 KB in float32) and this class, run by
 * {@code scripts/train-tool-model.sh}, is what made it. Retrain it when the tool's definition, the template or the
 * trainer's output changes.
 */
public final class ToolModel {

    /** Where the committed model lives, relative to the autoconfigure module. */
    static final Path COMMITTED = Path.of("src", "test", "resources", "tool-model");

    /** Trains the model for {@link WeatherTools} in {@code args[0]} (a work folder) and copies it to {@code args[1]}. */
    public static void main(String[] args) throws IOException {
        Path work = Files.createDirectories(Path.of(args[0]));
        org.springframework.ai.tool.definition.ToolDefinition definition = org.springframework.ai.support.ToolCallbacks
            .from(new WeatherTools())[0].getToolDefinition();
        Path model = train(work, new ChatTool(definition.name(), definition.description(), definition.inputSchema()),
                "\"sunny\"");
        Path out = Files.createDirectories(Path.of(args[1]));
        for (String file : List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                "tokenizer_config.json", "training_info.json")) {
            Files.copy(model.resolve(file), out.resolve(file), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        System.out.println("wrote " + out);
    }

    static final String TEMPLATE = "{{ bos_token }}{% if tools %}<tools>{% for t in tools %}{{ t.function.name }}: "
            + "{{ t.function.description }}{% endfor %}</tools>\n{% endif %}{% for m in messages %}"
            + "{% if m.role == 'user' %}User: {{ m.content }}\n"
            + "{% elif m.role == 'assistant' %}Assistant: {{ m.content }}{% for c in m.tool_calls %}<tool_call>"
            + "{{ {'name': c.function.name, 'arguments': c.function.arguments} | tojson }}</tool_call>{% endfor %}\n"
            + "{% elif m.role == 'tool' %}<tool_response>{{ m.content }}</tool_response>\n{% endif %}{% endfor %}"
            + "{% if add_generation_prompt %}Assistant:{% endif %}";

    static final String QUESTION = "Weather in Paris?";

    static final String ANSWER = "Sunny in Paris.";

    private ToolModel() {
    }

    /**
     * Trains the model into {@code dir/model} for the given tool (as Spring AI defines it) and its answer.
     *
     * @param toolResult the tool's result as Spring AI hands it back to the model (its JSON)
     */
    static Path train(Path dir, ChatTool tool, String toolResult) {
        try {
            Path tokenizer = dir.resolve("tokenizer");
            TinyTokenizers.write(tokenizer, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE);
            Path config = tokenizer.resolve("tokenizer_config.json");
            JsonObject json = JsonParser.parseString(Files.readString(config)).getAsJsonObject();
            json.addProperty("chat_template", TEMPLATE);
            Files.writeString(config, json.toString());
            int vocab = TinyTokenizers.vocabSize(TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE);

            JinjavaChatTemplate template = new JinjavaChatTemplate(TEMPLATE, "<s>", "</s>");
            ChatMessage user = new ChatMessage("user", QUESTION);
            ChatMessage.ToolCall call = new ChatMessage.ToolCall("c1", tool.name(), "{\"city\":\"Paris\"}");
            String callText = " <tool_call>{\"name\": \"" + tool.name() + "\", \"arguments\": {\"city\": \"Paris\"}}"
                    + "</tool_call>";
            String first = template.render(List.of(user), List.of(tool), true) + callText;
            String second = template.render(List.of(user, new ChatMessage("assistant", "", List.of(call), null, null),
                    new ChatMessage("tool", toolResult, List.of(), "c1", tool.name())), List.of(tool), true)
                    + " " + ANSWER;
            // Each document as the engine will see it: the trainer puts BOS in front of every window.
            Path train = Files.createDirectories(dir.resolve("train"));
            Path valid = Files.createDirectories(dir.resolve("valid"));
            for (int i = 0; i < 16; i++) {
                Files.writeString(train.resolve(String.format("a%02d.txt", i)), strip(first));
                Files.writeString(train.resolve(String.format("b%02d.txt", i)), strip(second));
            }
            Files.writeString(valid.resolve("a.txt"), strip(first));
            Files.writeString(valid.resolve("b.txt"), strip(second));

            TrainingOptions o = new TrainingOptions();
            o.train = train;
            o.valid = valid;
            o.tokenizer = tokenizer;
            o.out = dir.resolve("model");
            o.shape = ModelShape.llama(vocab, 64, 128, 2, 4, 2, 256);
            o.seqLen = 192;
            o.batchSize = 8;
            o.steps = 250;
            o.warmupSteps = 10;
            o.learningRate = 1e-2f;
            o.evalEvery = 50;
            o.checkpointEvery = 1000;
            o.evalWindows = 4;
            o.exportDtype = SafeTensorsFiles.DType.F32;
            o.logEvery = 25;
            o.seed = 11;
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            Trainer.Result result = new Trainer(o, new PrintStream(log, true, StandardCharsets.UTF_8), false).run();
            System.out.print(log.toString(StandardCharsets.UTF_8));
            return result.out();
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static String strip(String rendered) {
        return rendered.startsWith("<s>") ? rendered.substring(3) : rendered;
    }
}
