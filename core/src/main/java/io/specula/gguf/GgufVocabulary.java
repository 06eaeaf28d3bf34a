package io.specula.gguf;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.specula.SpeculaException;
import io.specula.model.ModelConfig;
import io.specula.tokenizer.TokenizerConfig;
import io.specula.tokenizer.TokenizerJson;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * The {@code tokenizer.ggml.*} keys of a GGUF file, from the model's tokenizer as the tokenizer package reads it
 * ({@link TokenizerJson}, {@link TokenizerConfig}: one parse of tokenizer.json and tokenizer_config.json for serving
 * and for export, so both see the same vocabulary, special tokens and chat template).
 *
 * <p>A byte-fallback BPE (Llama 2, Mistral) becomes a {@code llama} vocabulary: tokens as they are (with ▁ and
 * {@code <0xNN>}), types byte / unknown / control (special added tokens) / user-defined (other added tokens) / normal,
 * and as scores minus the rank of the first merge that produces the token (0 for tokens no merge produces: single
 * characters, bytes, specials). llama.cpp's SentencePiece tokenizer merges the adjacent pair whose result scores
 * highest, so these scores make it merge in the BPE's order. (convert_hf_to_gguf.py, without a tokenizer.model, goes
 * through {@code LlamaHfVocab}, which writes -1000 for every token: llama.cpp then merges left to right instead.)
 *
 * <p>A byte-level BPE (GPT-2, Llama 3, Qwen) becomes a {@code gpt2} vocabulary with its merges, as
 * {@code _set_vocab_gpt2} writes it. Padding rows of the embedding beyond the tokenizer get {@code [PADn]} unused
 * tokens, as the converter does.
 */
final class GgufVocabulary {

    /** gguf-py's TokenType. */
    static final int TOKEN_NORMAL = 1;
    static final int TOKEN_UNKNOWN = 2;
    static final int TOKEN_CONTROL = 3;
    static final int TOKEN_USER_DEFINED = 4;
    static final int TOKEN_UNUSED = 5;
    static final int TOKEN_BYTE = 6;

    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    /** Known pre-tokenizer split patterns and the name llama.cpp gives them (tokenizer.ggml.pre). */
    private static final Map<String, String> PRE_TOKENIZERS = Map.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
                    + "|\\s+(?!\\S)|\\s+", "qwen2",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "llama-bpe");

    private GgufVocabulary() {
    }

    /** Writes the tokenizer keys of the model in {@code dir}. */
    static void write(Path dir, ModelConfig c, GgufWriter w) {
        TokenizerJson tokenizer = TokenizerJson.read(dir);
        TokenizerConfig tokConfig = TokenizerConfig.read(dir);
        if (!"BPE".equals(tokenizer.modelType())) {
            throw new SpeculaException(tokenizer.file() + ": only BPE tokenizers can be exported to GGUF"
                    + " (model.type is " + tokenizer.modelType() + ")");
        }
        boolean byteFallback = tokenizer.byteFallback();
        if (tokenizer.vocabSize() > c.vocabSize()) {
            throw new SpeculaException(dir + ": the tokenizer has ids up to " + (tokenizer.vocabSize() - 1)
                    + " but vocab_size is " + c.vocabSize());
        }
        int size = c.vocabSize();
        List<String> merges = tokenizer.merges();
        Map<String, Integer> mergeRank = new HashMap<>();
        for (int r = 0; r < merges.size(); r++) {
            String m = merges.get(r);
            int sp = m.indexOf(' ');
            mergeRank.putIfAbsent(m.substring(0, sp) + m.substring(sp + 1), r);
        }
        // The lowest id of each token string, as the converter resolves special tokens.
        Map<String, Integer> ids = new HashMap<>();
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            if (tokenizer.token(id) != null) {
                ids.putIfAbsent(tokenizer.token(id), id);
            }
        }
        int unk = idOf(ids, tokConfig.unkToken(), tokenizer.unkToken());

        List<String> tokens = new ArrayList<>(size);
        float[] scores = new float[size];
        int[] types = new int[size];
        int pad = 0;
        for (int id = 0; id < size; id++) {
            String t = tokenizer.token(id);
            if (t == null) {
                tokens.add("[PAD" + (++pad) + "]");
                types[id] = TOKEN_UNUSED;
                scores[id] = -1000f;
                continue;
            }
            tokens.add(t);
            if (tokenizer.isAdded(id)) {
                types[id] = id == unk ? TOKEN_UNKNOWN : tokenizer.isAddedSpecial(id) ? TOKEN_CONTROL : TOKEN_USER_DEFINED;
            } else if (byteFallback && BYTE_TOKEN.matcher(t).matches()) {
                types[id] = TOKEN_BYTE;
            } else {
                types[id] = id == unk ? TOKEN_UNKNOWN : TOKEN_NORMAL;
            }
            Integer rank = mergeRank.get(t);
            scores[id] = types[id] == TOKEN_NORMAL && rank != null ? -(float) rank : 0f;
        }
        if (byteFallback) {
            w.putString("tokenizer.ggml.model", "llama");
            w.putString("tokenizer.ggml.pre", "default");
            w.putStrings("tokenizer.ggml.tokens", tokens);
            w.putFloat32s("tokenizer.ggml.scores", scores);
            w.putInt32s("tokenizer.ggml.token_type", types);
        } else {
            w.putString("tokenizer.ggml.model", "gpt2");
            w.putString("tokenizer.ggml.pre", preTokenizer(tokenizer.preTokenizer()));
            w.putStrings("tokenizer.ggml.tokens", tokens);
            w.putInt32s("tokenizer.ggml.token_type", types);
            w.putStrings("tokenizer.ggml.merges", merges);
        }
        specialTokens(c, tokConfig, tokenizer, ids, unk, w);
        if (tokConfig.chatTemplate() != null) {
            w.putString("tokenizer.chat_template", tokConfig.chatTemplate());
        }
    }

    /** The special token ids and the add-BOS/EOS flags, as gguf-py's SpecialVocab writes them. */
    private static void specialTokens(ModelConfig c, TokenizerConfig tokConfig, TokenizerJson tokenizer,
                                      Map<String, Integer> ids, int unk, GgufWriter w) {
        int bos = idOf(ids, tokConfig.bosToken(), null);
        int eos = idOf(ids, tokConfig.eosToken(), null);
        int padId = idOf(ids, tokConfig.padToken(), null);
        // Ids from the tokenizer's special tokens, else config.json's *_token_id.
        if (bos < 0 && c.bosTokenId() >= 0) {
            bos = c.bosTokenId();
        }
        if (eos < 0 && !c.eosTokenIds().isEmpty()) {
            eos = c.eosTokenIds().get(0);
        }
        if (bos >= 0) {
            w.putUInt32("tokenizer.ggml.bos_token_id", bos);
        }
        if (eos >= 0) {
            w.putUInt32("tokenizer.ggml.eos_token_id", eos);
        }
        if (unk >= 0) {
            w.putUInt32("tokenizer.ggml.unknown_token_id", unk);
        }
        if (padId >= 0) {
            w.putUInt32("tokenizer.ggml.padding_token_id", padId);
        }
        Boolean addBos = tokConfig.addBosToken();
        if (addBos == null) {
            addBos = postProcessorAddsFirst(tokenizer.postProcessor());
        }
        if (addBos != null) {
            w.putBool("tokenizer.ggml.add_bos_token", addBos);
        }
        if (tokConfig.addEosToken() != null) {
            w.putBool("tokenizer.ggml.add_eos_token", tokConfig.addEosToken());
        }
    }

    /** llama.cpp's name for the pre-tokenizer (it picks its regexes by name). */
    private static String preTokenizer(JsonElement pre) {
        String json = pre == null ? "" : pre.toString();
        for (Map.Entry<String, String> e : PRE_TOKENIZERS.entrySet()) {
            if (json.contains(new JsonPrimitive(e.getKey()).toString())) {
                return e.getValue();
            }
        }
        if (pre != null && pre.isJsonObject() && "ByteLevel".equals(str(pre.getAsJsonObject().get("type")))) {
            return "gpt-2";
        }
        return "default";
    }

    /** Whether a TemplateProcessing post-processor (alone or in a Sequence) puts a special token first. */
    private static Boolean postProcessorAddsFirst(JsonElement pp) {
        if (pp == null || !pp.isJsonObject()) {
            return null;
        }
        JsonObject o = pp.getAsJsonObject();
        String type = str(o.get("type"));
        if ("Sequence".equals(type) && o.has("processors")) {
            for (JsonElement p : o.getAsJsonArray("processors")) {
                Boolean b = postProcessorAddsFirst(p);
                if (b != null) {
                    return b;
                }
            }
            return null;
        }
        if ("TemplateProcessing".equals(type) && o.has("single")) {
            JsonArray single = o.getAsJsonArray("single");
            return !single.isEmpty() && single.get(0).getAsJsonObject().has("SpecialToken");
        }
        return null;
    }

    private static int idOf(Map<String, Integer> ids, String token, String fallback) {
        String t = token != null ? token : fallback;
        if (t == null) {
            return -1;
        }
        Integer id = ids.get(t);
        return id == null ? -1 : id;
    }

    private static String str(JsonElement e) {
        return e == null || e.isJsonNull() || !e.isJsonPrimitive() ? null : e.getAsString();
    }
}
