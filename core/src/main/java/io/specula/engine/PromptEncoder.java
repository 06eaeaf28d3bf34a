package io.specula.engine;

import io.specula.FieldErrors;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTool;
import io.specula.tokenizer.JinjavaChatTemplate;
import io.specula.tokenizer.ChatTemplate;
import io.specula.tokenizer.Tokenizer;

import java.util.List;

/**
 * Turns a conversation into the prompt's token ids: rendered with the model's chat template (which writes the special
 * tokens, BOS included, itself, so its text is encoded without adding them again), or, for a model without one, in
 * the documented plain format, encoded as the tokenizer's configuration says (BOS added if it adds one). Special-token
 * text inside a message stays text unless the engine is configured to parse it
 * ({@link EngineConfig#parseSpecialTokensInMessages()}, see {@link Tokenizer#encodeChat}). The plain format:
 *
 * <pre>
 * System: {system text}
 * User: {user text}
 * Assistant: {assistant text}
 * User: {user text}
 * Assistant:</pre>
 */
final class PromptEncoder {

    private final Tokenizer tokenizer;
    private final boolean parseSpecialTokensInMessages;

    PromptEncoder(Tokenizer tokenizer, boolean parseSpecialTokensInMessages) {
        this.tokenizer = tokenizer;
        this.parseSpecialTokensInMessages = parseSpecialTokensInMessages;
    }

    int[] encode(List<ChatMessage> messages) {
        return encode(messages, List.of());
    }

    /** With tools, which only a template that renders them can take ({@link #checkTools}). */
    int[] encode(List<ChatMessage> messages, List<ChatTool> tools) {
        ChatTemplate template = tokenizer.chatTemplate();
        if (template != null) {
            return tokenizer.encodeChat(messages, tools, true, parseSpecialTokensInMessages);
        }
        return tokenizer.encode(plainFormat(messages), true, parseSpecialTokensInMessages);
    }

    /**
     * The rule of tools (and of tool messages): the model's chat template must render them and show a tool-call
     * format this engine can read back; otherwise the request is refused, never answered as if there were no tools.
     */
    void checkTools(List<ChatMessage> messages, List<ChatTool> tools, FieldErrors errors) {
        boolean toolMessages = messages.stream().anyMatch(m -> "tool".equals(m.role()) || !m.toolCalls().isEmpty());
        if (tools.isEmpty() && !toolMessages) {
            return;
        }
        ChatTemplate template = tokenizer.chatTemplate();
        if (template == null || !template.supportsTools()) {
            String which = template instanceof JinjavaChatTemplate j ? "the chat template (" + j.source() + ")"
                    : template == null ? "the model, which has no chat template," : "the chat template";
            errors.add(tools.isEmpty() ? "messages" : "tools", which + " does not render tools or a tool-call format "
                    + "this engine reads (tool calling needs a template that takes a 'tools' argument and shows "
                    + "Qwen's <tool_call> or Llama 3.1's JSON calls: Qwen 2.5/3, Llama 3.1+)");
        }
        for (int i = 0; i < tools.size(); i++) {
            ChatTool tool = tools.get(i);
            if (tool.name() == null || tool.name().isBlank()) {
                errors.add("tools[" + i + "].name", "expected a tool name");
            }
        }
    }

    /** The conversation in the plain format, ending with the assistant's turn. */
    static String plainFormat(List<ChatMessage> messages) {
        StringBuilder text = new StringBuilder();
        for (ChatMessage message : messages) {
            String role = switch (message.role()) {
                case "system" -> "System";
                case "assistant" -> "Assistant";
                case "tool" -> "Tool";
                default -> "User";
            };
            text.append(role).append(": ").append(message.content()).append('\n');
        }
        return text.append("Assistant:").toString();
    }
}
