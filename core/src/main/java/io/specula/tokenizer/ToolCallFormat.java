package io.specula.tokenizer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How a model writes tool calls, in the format its chat template teaches it, and how to read them back from its
 * output.
 * <ul>
 *   <li>{@link #HERMES} (Qwen 2.5, Qwen 3, Hermes): one or more
 *       {@code <tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>} blocks, possibly after some text;</li>
 *   <li>{@link #LLAMA_JSON} (Llama 3.1, 3.2, 3.3 with JSON tool calling): the whole answer is one JSON object
 *       {@code {"name": ..., "parameters": {...}}}, optionally after {@code <|python_tag|>}.</li>
 * </ul>
 */
public enum ToolCallFormat {

    /** The template renders no tools. */
    NONE(null),
    HERMES("<tool_call>"),
    LLAMA_JSON("{");

    private static final Pattern HERMES_CALL = Pattern.compile("<tool_call>\\s*(.*?)\\s*(?:</tool_call>|$)",
            Pattern.DOTALL);

    private static final String PYTHON_TAG = "<|python_tag|>";

    private final String opener;

    ToolCallFormat(String opener) {
        this.opener = opener;
    }

    /** The format a template's source shows (its tool-call syntax), {@link #NONE} when it renders no tools. */
    static ToolCallFormat of(String templateSource) {
        if (!templateSource.contains("tools")) {
            return NONE;
        }
        if (templateSource.contains("<tool_call>")) {
            return HERMES;
        }
        if (templateSource.contains("\"parameters\"") || templateSource.contains("'parameters'")) {
            return LLAMA_JSON;
        }
        return NONE;
    }

    /**
     * Where, in a streamed answer, text may no longer be shown because it begins a tool call: the index of the
     * opener, or of a prefix of it at the end of the text (it may still grow into one); -1 when all of the text is
     * ordinary text so far. For {@link #LLAMA_JSON} only an answer that starts (after whitespace) with a JSON object
     * or the python tag is held.
     */
    public int heldFrom(String text) {
        if (this == NONE) {
            return -1;
        }
        if (this == LLAMA_JSON) {
            String trimmed = text.stripLeading();
            if (trimmed.isEmpty()) {
                return text.isEmpty() ? -1 : 0;
            }
            boolean call = trimmed.startsWith("{") || trimmed.startsWith(PYTHON_TAG)
                    || PYTHON_TAG.startsWith(trimmed);
            return call ? 0 : -1;
        }
        int at = text.indexOf(opener);
        if (at >= 0) {
            return at;
        }
        for (int k = Math.min(opener.length() - 1, text.length()); k > 0; k--) {
            if (text.endsWith(opener.substring(0, k))) {
                return text.length() - k;
            }
        }
        return -1;
    }

    /** An answer read as text and tool calls. */
    public record Parsed(String text, List<ChatMessage.ToolCall> toolCalls) {
    }

    /**
     * Reads the tool calls out of a whole answer. Text that is not a well-formed call of this format stays text (so
     * nothing the model wrote is lost); the calls get fresh ids.
     */
    public Parsed parse(String answer) {
        if (this == HERMES) {
            int first = answer.indexOf(opener);
            if (first < 0) {
                return new Parsed(answer, List.of());
            }
            List<ChatMessage.ToolCall> calls = new ArrayList<>();
            Matcher m = HERMES_CALL.matcher(answer);
            while (m.find()) {
                ChatMessage.ToolCall call = call(m.group(1), "arguments");
                if (call == null) {
                    return new Parsed(answer, List.of());
                }
                calls.add(call);
            }
            return new Parsed(answer.substring(0, first).strip(), calls);
        }
        if (this == LLAMA_JSON) {
            String body = answer.strip();
            if (body.startsWith(PYTHON_TAG)) {
                body = body.substring(PYTHON_TAG.length()).strip();
            }
            if (body.startsWith("{")) {
                ChatMessage.ToolCall call = call(body, "parameters");
                if (call != null) {
                    return new Parsed("", List.of(call));
                }
            }
        }
        return new Parsed(answer, List.of());
    }

    /** A call from its JSON ({"name": ..., argumentsKey: {...}}), or null when it is not one. */
    private static ChatMessage.ToolCall call(String json, String argumentsKey) {
        try {
            JsonElement parsed = JsonParser.parseString(json);
            if (!parsed.isJsonObject()) {
                return null;
            }
            JsonObject o = parsed.getAsJsonObject();
            if (!o.has("name") || !o.get("name").isJsonPrimitive()) {
                return null;
            }
            JsonElement arguments = o.has(argumentsKey) ? o.get(argumentsKey)
                    : o.has("arguments") ? o.get("arguments") : new JsonObject();
            String text = arguments.isJsonPrimitive() && arguments.getAsJsonPrimitive().isString()
                    ? arguments.getAsString() : arguments.toString();
            return new ChatMessage.ToolCall("call_" + UUID.randomUUID().toString().replace("-", "").substring(0, 24),
                    o.get("name").getAsString(), text);
        } catch (RuntimeException e) {
            return null;
        }
    }
}
