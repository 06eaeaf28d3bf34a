package io.specula.tokenizer;

import java.util.List;

/**
 * One message of a conversation as a chat template reads it.
 *
 * @param role       "system", "user", "assistant" or "tool"
 * @param content    the text ({@code null} or empty for an assistant message that only calls tools)
 * @param toolCalls  the tools an assistant message calls (empty for other messages)
 * @param toolCallId for a "tool" message: the id of the call it answers ({@code null} otherwise)
 * @param name       for a "tool" message: the tool's name ({@code null} otherwise)
 */
public record ChatMessage(String role, String content, List<ToolCall> toolCalls, String toolCallId, String name) {

    public ChatMessage {
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public ChatMessage(String role, String content) {
        this(role, content, List.of(), null, null);
    }

    /**
     * A call of a tool, as the model wrote it.
     *
     * @param id        an id the answer ("tool" message) refers to
     * @param name      the tool's name
     * @param arguments the arguments, a JSON object's text
     */
    public record ToolCall(String id, String name, String arguments) {
    }
}
