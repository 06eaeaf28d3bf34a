package io.specula.engine;

import io.specula.tokenizer.ChatMessage;
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
        ChatTemplate template = tokenizer.chatTemplate();
        if (template != null) {
            return tokenizer.encodeChat(messages, true, parseSpecialTokensInMessages);
        }
        return tokenizer.encode(plainFormat(messages), true, parseSpecialTokensInMessages);
    }

    /** The conversation in the plain format, ending with the assistant's turn. */
    static String plainFormat(List<ChatMessage> messages) {
        StringBuilder text = new StringBuilder();
        for (ChatMessage message : messages) {
            String role = switch (message.role()) {
                case "system" -> "System";
                case "assistant" -> "Assistant";
                default -> "User";
            };
            text.append(role).append(": ").append(message.content()).append('\n');
        }
        return text.append("Assistant:").toString();
    }
}
