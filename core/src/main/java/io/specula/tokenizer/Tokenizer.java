package io.specula.tokenizer;

import java.util.List;

/**
 * A model's tokenizer (tokenizer.json, with tokenizer_config.json's special tokens and chat template).
 * Implemented by {@link HfTokenizer} over DJL's Hugging Face tokenizers.
 */
public interface Tokenizer extends AutoCloseable {

    /** Encodes text, adding the special tokens the tokenizer's configuration adds (e.g. BOS). */
    int[] encode(String text);

    /** Encodes text; with {@code addSpecialTokens == false} exactly the text's own tokens. */
    int[] encode(String text, boolean addSpecialTokens);

    /**
     * Encodes text; with {@code parseSpecialTokens == false} special-token text in it (e.g. {@code <|im_start|>}) is
     * tokenized as the plain text it is, as transformers does with {@code split_special_tokens=True}; with
     * {@code true}, as {@link #encode(String, boolean)} (transformers' default).
     *
     * <p>The default implementation cannot tell the two apart and always parses special tokens; {@link HfTokenizer}
     * implements both.
     */
    default int[] encode(String text, boolean addSpecialTokens, boolean parseSpecialTokens) {
        return encode(text, addSpecialTokens);
    }

    /**
     * The conversation rendered with the chat template and encoded as the model reads it. With
     * {@code parseSpecialTokensInMessages == true} the rendered text is encoded as transformers'
     * {@code apply_chat_template(tokenize=True)} does: special-token text anywhere in it, message content included,
     * becomes the special token. With {@code false} special tokens are only where the template put them: special-token
     * text inside a message is tokenized as plain text, so a message cannot forge a turn of another role; for
     * messages without special-token text both give transformers' ids.
     *
     * <p>The default implementation renders and encodes with special-token parsing (it cannot do otherwise);
     * {@link HfTokenizer} implements both.
     *
     * @throws IllegalStateException when the tokenizer has no chat template
     */
    default int[] encodeChat(List<ChatMessage> messages, boolean addGenerationPrompt,
                             boolean parseSpecialTokensInMessages) {
        return encodeChat(messages, List.of(), addGenerationPrompt, parseSpecialTokensInMessages);
    }

    /** As {@link #encodeChat(List, boolean, boolean)}, with the tools the model may call rendered by the template. */
    default int[] encodeChat(List<ChatMessage> messages, List<ChatTool> tools, boolean addGenerationPrompt,
                             boolean parseSpecialTokensInMessages) {
        ChatTemplate template = chatTemplate();
        if (template == null) {
            throw new IllegalStateException("the tokenizer has no chat template");
        }
        return encode(template.render(messages, tools, addGenerationPrompt), false);
    }

    /** Decodes ids to text, special tokens included as their text. */
    String decode(int[] ids);

    /** Number of tokens the tokenizer knows (ids 0 .. vocabSize-1). */
    int vocabSize();

    /** The token's string as in the vocabulary (e.g. "▁the", "<0x0A>", "Ġthe"). */
    String tokenString(int id);

    /**
     * The bytes this token adds to the decoded output, as the tokenizer's decoder writes them (a byte-level or
     * byte-fallback token may be part of a UTF-8 character); {@code null} for a special token, which is not text.
     * What structured output runs through its grammar. The default decodes the token alone, which suits tokenizers
     * whose tokens are whole characters; {@link HfTokenizer} maps the vocabulary's own alphabet.
     */
    default byte[] tokenBytes(int id) {
        if (isSpecial(id)) {
            return null;
        }
        return decode(new int[] {id}).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** BOS id, or -1. */
    int bosId();

    /** End-of-sequence ids from tokenizer_config.json and generation_config.json (may be several). */
    List<Integer> eosIds();

    /** Ids of special (added, control) tokens. */
    boolean isSpecial(int id);

    /** The chat template of tokenizer_config.json, or {@code null} when the model has none. */
    ChatTemplate chatTemplate();

    /** A fresh incremental decoder for one output stream. */
    StreamingDetokenizer newStreamingDetokenizer();

    @Override
    void close();
}
