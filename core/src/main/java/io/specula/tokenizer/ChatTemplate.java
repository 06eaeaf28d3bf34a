package io.specula.tokenizer;

import java.util.List;

/**
 * A model's chat template (tokenizer_config.json {@code chat_template}, Jinja) rendered with Jinjava, with limits on
 * output size and loop iterations so a hostile template cannot hang the service.
 */
public interface ChatTemplate {

    /** Renders the conversation; {@code addGenerationPrompt} appends the assistant turn's opening. */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);
}
