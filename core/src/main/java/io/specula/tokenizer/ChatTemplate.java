package io.specula.tokenizer;

import java.util.List;

/**
 * A model's chat template (tokenizer_config.json {@code chat_template}, Jinja) rendered with Jinjava, with limits on
 * output size and loop iterations so a hostile template cannot hang the service.
 */
public interface ChatTemplate {

    /** Renders the conversation; {@code addGenerationPrompt} appends the assistant turn's opening. */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /**
     * Renders the conversation with the tools the model may call (the template's {@code tools} argument); without
     * tools, as {@link #render(List, boolean)}.
     *
     * @throws UnsupportedOperationException when there are tools and the template takes none
     */
    default String render(List<ChatMessage> messages, List<ChatTool> tools, boolean addGenerationPrompt) {
        if (tools != null && !tools.isEmpty()) {
            throw new UnsupportedOperationException("this chat template takes no tools");
        }
        return render(messages, addGenerationPrompt);
    }

    /** Whether the template renders tools (it reads a {@code tools} variable: Qwen 2.5/3, Llama 3.1+, Mistral). */
    default boolean supportsTools() {
        return false;
    }

    /** How the model writes a tool call, as its template shows it; {@link ToolCallFormat#NONE} without tools. */
    default ToolCallFormat toolCallFormat() {
        return ToolCallFormat.NONE;
    }
}
