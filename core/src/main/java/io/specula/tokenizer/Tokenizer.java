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

    /** Decodes ids to text, special tokens included as their text. */
    String decode(int[] ids);

    /** Number of tokens the tokenizer knows (ids 0 .. vocabSize-1). */
    int vocabSize();

    /** The token's string as in the vocabulary (e.g. "▁the", "<0x0A>", "Ġthe"). */
    String tokenString(int id);

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
