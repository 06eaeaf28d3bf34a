package io.specula.engine;

import io.specula.FieldErrors;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTool;

import java.util.List;

/**
 * One chat request as the engine takes it: the conversation and how to decode it. {@link SpeculaEngine#chat} owns it
 * from here: it validates it once (every field at fault reported together), admits it, renders and encodes the
 * conversation, fits it into the context, caps its token limit, reserves its KV cache and decodes it.
 *
 * @param messages     the conversation, in order; roles "system", "user", "assistant"
 * @param options      how to decode it; {@code null} means {@link DecodingOptions#UNSET}
 * @param outputSchema a JSON schema the answer must be valid for (structured output: the answer is a JSON text
 *                     valid for it, complete within the token limit), or {@code null} for free text
 * @param tools        tools the model may call, rendered by the chat template (empty: none)
 */
public record ChatRequest(List<ChatMessage> messages, DecodingOptions options, String outputSchema,
                          List<ChatTool> tools) {

    public ChatRequest {
        messages = messages == null ? List.of() : List.copyOf(messages);
        options = options == null ? DecodingOptions.UNSET : options;
        outputSchema = outputSchema == null || outputSchema.isBlank() ? null : outputSchema;
        tools = tools == null ? List.of() : List.copyOf(tools);
    }

    /** A request for free text, without tools. */
    public ChatRequest(List<ChatMessage> messages, DecodingOptions options) {
        this(messages, options, null, List.of());
    }

    /** A request without tools. */
    public ChatRequest(List<ChatMessage> messages, DecodingOptions options, String outputSchema) {
        this(messages, options, outputSchema, List.of());
    }

    public static ChatRequest of(String userMessage) {
        return new ChatRequest(List.of(new ChatMessage("user", userMessage)), DecodingOptions.UNSET);
    }

    /** The rule of the conversation: at least one message with text (or a tool call, or a tool's answer). */
    void checkMessages(FieldErrors errors) {
        if (messages.stream().allMatch(m -> (m.content() == null || m.content().isBlank()) && m.toolCalls().isEmpty())) {
            errors.add("prompt", "expected at least one message with text, got "
                    + (messages.isEmpty() ? "no messages" : "only empty messages"));
        }
    }
}
