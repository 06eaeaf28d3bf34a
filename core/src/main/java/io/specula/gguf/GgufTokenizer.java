package io.specula.gguf;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.specula.model.ModelFormatException;
import io.specula.tokenizer.HfTokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The tokenizer of a GGUF file, from its {@code tokenizer.*} metadata alone, run by DJL's binding of the Hugging Face
 * tokenizers library like every other tokenizer here: the metadata is turned into the tokenizer.json (and
 * tokenizer_config.json) that describes the same tokenizer, as llama.cpp's llama-vocab.cpp reads the metadata.
 * A {@code tokenizer.json} next to the file wins (with the {@code tokenizer_config.json} there, if any).
 *
 * <ul>
 *   <li>{@code tokenizer.ggml.model = gpt2}: byte-level BPE with the file's merges. The pre-tokenizer is named by
 *       {@code tokenizer.ggml.pre}; each name gets the split regexes its Hugging Face tokenizer.json has, which are
 *       the ones llama.cpp adapts for that name ({@link #preTokenizer}): llama-bpe (Llama 3, merges ignored for
 *       whole words), qwen2 (with Qwen2's NFC normalizer), gpt-2, smollm/starcoder and tekken. Other names are refused
 *       with a pointer to the tokenizer.json escape hatch.</li>
 *   <li>{@code tokenizer.ggml.model = llama}: SentencePiece BPE as llama.cpp runs it: a space is prepended to every
 *       piece of text between special tokens ({@code tokenizer.ggml.add_space_prefix}, default true), spaces become
 *       ▁, the pair whose merged token scores highest merges first ({@link #mergesFromScores}), and characters
 *       without a token fall back to {@code <0xNN>} byte tokens.</li>
 *   <li>Token types: control and unknown tokens are special added tokens, user-defined ones are added tokens that
 *       are not special; both are matched in text before anything else (llama.cpp's parse_special).</li>
 *   <li>BOS/EOS ids, add-BOS/EOS ({@code add_bos_token}, default true for SentencePiece and Llama 3 vocabularies as
 *       in llama.cpp) and the chat template ({@code tokenizer.chat_template}).</li>
 *   <li>End of generation: the EOS id, {@code eot_token_id}, {@code eom_token_id} and the tokens llama.cpp
 *       recognises by their text ({@link #EOG_TEXTS}), which is how it stops Llama 3 at {@code <|eot_id|>} and Qwen at
 *       {@code <|im_end|>} and {@code <|endoftext|>}, as their generation_config.json would.</li>
 * </ul>
 *
 * <p>Why one class of ~500 lines: it mirrors llama.cpp's llama-vocab.cpp, one method per part of the metadata, so that
 * each rule can be checked against that file; split, the pre-tokenizer table and the vocabulary rules would be apart.
 */
public final class GgufTokenizer {

    /** gguf-py's TokenType. */
    static final int NORMAL = 1;
    static final int UNKNOWN = 2;
    static final int CONTROL = 3;
    static final int USER_DEFINED = 4;
    static final int UNUSED = 5;
    static final int BYTE = 6;

    /** Tokens llama.cpp (llama-vocab.cpp) treats as end of generation by their text, where the vocabulary has them. */
    static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
            "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
            // fill-in-the-middle padding, repository and file separators: llama.cpp stops there too
            "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<reponame>",
            "<|file_sep|>");

    /** Llama 3's split regex, as its tokenizer.json writes it (llama.cpp's "llama-bpe" adapts this one). */
    static final String LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Qwen2's (and Qwen3's) split regex, as its tokenizer.json writes it (llama.cpp's "qwen2"). */
    static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
            + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    /** Mistral's Tekken regex (llama.cpp's "tekken"). */
    static final String TEKKEN_SPLIT = "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*"
            + "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+"
            + "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private GgufTokenizer() {
    }

    /**
     * The tokenizer for {@code f}: {@code tokenizer.json} next to the file if there is one, else the file's metadata.
     *
     * @throws ModelFormatException naming the file and key when the metadata has no usable tokenizer
     */
    public static HfTokenizer load(GgufFile f) {
        Path beside = f.path().toAbsolutePath().getParent().resolve("tokenizer.json");
        List<Integer> eog = endOfGeneration(f);
        if (Files.isRegularFile(beside)) {
            Path configFile = beside.resolveSibling("tokenizer_config.json");
            JsonObject config = Files.isRegularFile(configFile) ? readObject(configFile) : tokenizerConfig(f);
            return HfTokenizer.load(beside, readObject(beside), config, eog);
        }
        return HfTokenizer.load(f.path(), tokenizerJson(f), tokenizerConfig(f), eog);
    }

    /** The tokenizer.json that describes the file's tokenizer, for the Hugging Face tokenizers library. */
    public static JsonObject tokenizerJson(GgufFile f) {
        String model = f.string("tokenizer.ggml.model");
        if (model == null) {
            throw f.error("no tokenizer: metadata key 'tokenizer.ggml.model' is missing (put the model's "
                    + "tokenizer.json next to the file to use it)");
        }
        Vocab v = Vocab.read(f);
        JsonObject json = new JsonObject();
        json.addProperty("version", "1.0");
        json.add("truncation", JsonNull.INSTANCE);
        json.add("padding", JsonNull.INSTANCE);
        json.add("added_tokens", addedTokens(v));
        switch (model) {
            case "gpt2" -> byteLevel(f, v, json);
            case "llama" -> sentencePiece(f, v, json);
            default -> throw f.error("metadata key 'tokenizer.ggml.model': '" + model + "' tokenizers are not "
                    + "supported; expected gpt2 (byte-level BPE) or llama (SentencePiece)");
        }
        json.add("post_processor", postProcessor(f, v, model));
        return json;
    }

    /** What tokenizer_config.json would say: BOS/EOS token texts and the chat template. */
    public static JsonObject tokenizerConfig(GgufFile f) {
        JsonObject c = new JsonObject();
        String[] tokens = f.strings("tokenizer.ggml.tokens");
        int bos = id(f, "tokenizer.ggml.bos_token_id", tokens);
        int eos = id(f, "tokenizer.ggml.eos_token_id", tokens);
        if (bos >= 0) {
            c.addProperty("bos_token", tokens[bos]);
        }
        if (eos >= 0) {
            c.addProperty("eos_token", tokens[eos]);
        }
        String template = f.string("tokenizer.chat_template");
        if (template != null) {
            c.addProperty("chat_template", template);
        }
        return c;
    }

    /** The ids that end generation, as llama.cpp collects them (see the class comment). */
    public static List<Integer> endOfGeneration(GgufFile f) {
        String[] tokens = f.strings("tokenizer.ggml.tokens");
        Set<Integer> ids = new LinkedHashSet<>();
        for (String key : new String[] {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                "tokenizer.ggml.eom_token_id"}) {
            int id = id(f, key, tokens);
            if (id >= 0) {
                ids.add(id);
            }
        }
        if (tokens != null) {
            for (int i = 0; i < tokens.length; i++) {
                if (EOG_TEXTS.contains(tokens[i])) {
                    ids.add(i);
                }
            }
        }
        return List.copyOf(ids);
    }

    // ---------------------------------------------------------------- vocabulary

    /** The token list with types and scores, checked. */
    record Vocab(String[] tokens, int[] types, float[] scores, Map<String, Integer> ids) {

        static Vocab read(GgufFile f) {
            String[] stored = f.strings("tokenizer.ggml.tokens");
            if (stored == null || stored.length == 0) {
                throw f.error("no tokenizer: metadata key 'tokenizer.ggml.tokens' is missing or empty (put the "
                        + "model's tokenizer.json next to the file to use it)");
            }
            String[] tokens = stored.clone();
            long[] rawTypes = f.integers("tokenizer.ggml.token_type");
            if (rawTypes != null && rawTypes.length < tokens.length) {
                throw f.error("metadata key 'tokenizer.ggml.token_type': " + rawTypes.length + " types for "
                        + tokens.length + " tokens");
            }
            float[] scores = f.floats("tokenizer.ggml.scores");
            if (scores != null && scores.length < tokens.length) {
                throw f.error("metadata key 'tokenizer.ggml.scores': " + scores.length + " scores for "
                        + tokens.length + " tokens");
            }
            int[] types = new int[tokens.length];
            Map<String, Integer> ids = new HashMap<>(tokens.length * 2);
            for (int i = 0; i < tokens.length; i++) {
                types[i] = rawTypes == null ? NORMAL : (int) rawTypes[i];
                if (tokens[i].isEmpty()) {
                    tokens[i] = "[EMPTY_" + i + "]";   // as llama.cpp names them
                }
                Integer before = ids.putIfAbsent(tokens[i], i);
                if (before != null) {
                    throw f.error("metadata key 'tokenizer.ggml.tokens': token '" + tokens[i] + "' appears twice "
                            + "(ids " + before + " and " + i + ")");
                }
            }
            return new Vocab(tokens, types, scores == null ? new float[tokens.length] : scores, ids);
        }

        boolean added(int id) {
            return types[id] == CONTROL || types[id] == USER_DEFINED || types[id] == UNKNOWN;
        }
    }

    /** Control, unknown and user-defined tokens: matched in text first (llama.cpp's tokenizer_st_partition). */
    private static JsonArray addedTokens(Vocab v) {
        JsonArray out = new JsonArray();
        for (int id = 0; id < v.tokens.length; id++) {
            if (!v.added(id)) {
                continue;
            }
            JsonObject t = new JsonObject();
            t.addProperty("id", id);
            t.addProperty("content", v.tokens[id]);
            t.addProperty("single_word", false);
            t.addProperty("lstrip", false);
            t.addProperty("rstrip", false);
            t.addProperty("normalized", false);
            t.addProperty("special", v.types[id] != USER_DEFINED);
            out.add(t);
        }
        return out;
    }

    private static JsonObject vocabObject(Vocab v) {
        JsonObject vocab = new JsonObject();
        for (int id = 0; id < v.tokens.length; id++) {
            vocab.addProperty(v.tokens[id], id);
        }
        return vocab;
    }

    private static void byteLevel(GgufFile f, Vocab v, JsonObject json) {
        String pre = f.string("tokenizer.ggml.pre");
        String[] merges = f.strings("tokenizer.ggml.merges");
        if (merges == null) {
            throw f.error("no tokenizer: metadata key 'tokenizer.ggml.merges' is missing (a gpt2 tokenizer needs its "
                    + "merges)");
        }
        PreTokenizer p = preTokenizer(f, pre == null ? "default" : pre);
        json.add("normalizer", p.nfc ? JsonParser.parseString("{\"type\":\"NFC\"}") : JsonNull.INSTANCE);
        json.add("pre_tokenizer", p.json);
        json.add("decoder", JsonParser.parseString(
                "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}"));
        JsonObject model = bpe(null, false, p.ignoreMerges);
        model.add("vocab", vocabObject(v));
        JsonArray list = new JsonArray(merges.length);
        for (String m : merges) {
            list.add(m);
        }
        model.add("merges", list);
        json.add("model", model);
    }

    /** A pre-tokenizer: the tokenizer.json form, and the llama.cpp flags that go with the name. */
    record PreTokenizer(JsonElement json, boolean nfc, boolean ignoreMerges) {
    }

    /**
     * The Hugging Face pre-tokenizer for a {@code tokenizer.ggml.pre} name (llama-vocab.cpp's table of names, for the
     * names the supported architectures use).
     */
    static PreTokenizer preTokenizer(GgufFile f, String name) {
        return switch (name) {
            case "llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral" ->
                    new PreTokenizer(splitThenBytes(LLAMA3_SPLIT), false, true);
            case "dbrx", "smaug-bpe" -> new PreTokenizer(splitThenBytes(LLAMA3_SPLIT), false, false);
            case "qwen2", "deepseek-r1-qwen", "megrez" -> new PreTokenizer(splitThenBytes(QWEN2_SPLIT), true, false);
            case "stablelm2" -> new PreTokenizer(splitThenBytes(QWEN2_SPLIT), false, false);
            case "tekken" -> new PreTokenizer(splitThenBytes(TEKKEN_SPLIT), false, true);
            case "gpt-2", "phi-2", "mpt", "olmo", "jina-es", "jina-de", "jina-v2-es", "jina-v2-de" ->
                    new PreTokenizer(JsonParser.parseString("{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                            + "\"trim_offsets\":true,\"use_regex\":true}"), false, false);
            case "starcoder", "refact", "smollm", "codeshell", "command-r" ->
                    new PreTokenizer(JsonParser.parseString("{\"type\":\"Sequence\",\"pretokenizers\":["
                            + "{\"type\":\"Digits\",\"individual_digits\":true},{\"type\":\"ByteLevel\","
                            + "\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}]}"), false, false);
            default -> throw f.error("metadata key 'tokenizer.ggml.pre': the pre-tokenizer '" + name + "' is not "
                    + "supported (supported: llama-bpe, qwen2, gpt-2, smollm, starcoder, tekken, dbrx, smaug-bpe, "
                    + "stablelm2); put the model's tokenizer.json (and tokenizer_config.json) next to the file to "
                    + "use it instead");
        };
    }

    private static JsonElement splitThenBytes(String regex) {
        JsonObject split = new JsonObject();
        split.addProperty("type", "Split");
        JsonObject pattern = new JsonObject();
        pattern.addProperty("Regex", regex);
        split.add("pattern", pattern);
        split.addProperty("behavior", "Isolated");
        split.addProperty("invert", false);
        JsonObject bytes = JsonParser.parseString(
                "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}")
                .getAsJsonObject();
        JsonArray list = new JsonArray();
        list.add(split);
        list.add(bytes);
        JsonObject seq = new JsonObject();
        seq.addProperty("type", "Sequence");
        seq.add("pretokenizers", list);
        return seq;
    }

    private static JsonObject bpe(String unk, boolean byteFallback, boolean ignoreMerges) {
        JsonObject model = new JsonObject();
        model.addProperty("type", "BPE");
        model.add("dropout", JsonNull.INSTANCE);
        if (unk == null) {
            model.add("unk_token", JsonNull.INSTANCE);
        } else {
            model.addProperty("unk_token", unk);
        }
        model.add("continuing_subword_prefix", JsonNull.INSTANCE);
        model.add("end_of_word_suffix", JsonNull.INSTANCE);
        model.addProperty("fuse_unk", byteFallback);
        model.addProperty("byte_fallback", byteFallback);
        model.addProperty("ignore_merges", ignoreMerges);
        return model;
    }

    private static void sentencePiece(GgufFile f, Vocab v, JsonObject json) {
        Boolean prefix = f.bool("tokenizer.ggml.add_space_prefix");
        boolean addSpacePrefix = prefix == null || prefix;
        if (Boolean.TRUE.equals(f.bool("tokenizer.ggml.remove_extra_whitespaces"))) {
            throw f.error("metadata key 'tokenizer.ggml.remove_extra_whitespaces': true is not supported; put the "
                    + "model's tokenizer.json next to the file to use it instead");
        }
        // Prepend a space to every piece between special tokens (sentencepiece's dummy prefix, as llama.cpp adds it),
        // then spaces become ▁: the legacy form of Llama 2's tokenizer.json.
        JsonArray normalizers = new JsonArray();
        if (addSpacePrefix) {
            normalizers.add(JsonParser.parseString("{\"type\":\"Prepend\",\"prepend\":\"▁\"}"));
        }
        normalizers.add(JsonParser.parseString("{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}"));
        JsonObject normalizer = new JsonObject();
        normalizer.addProperty("type", "Sequence");
        normalizer.add("normalizers", normalizers);
        json.add("normalizer", normalizer);
        json.add("pre_tokenizer", JsonNull.INSTANCE);
        JsonArray decoders = JsonParser.parseString("[{\"type\":\"Replace\",\"pattern\":{\"String\":\"▁\"},"
                + "\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"}]").getAsJsonArray();
        if (addSpacePrefix) {
            decoders.add(JsonParser.parseString("{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}"));
        }
        JsonObject decoder = new JsonObject();
        decoder.addProperty("type", "Sequence");
        decoder.add("decoders", decoders);
        json.add("decoder", decoder);
        int unk = id(f, "tokenizer.ggml.unknown_token_id", v.tokens);
        if (unk < 0) {
            unk = v.ids.getOrDefault("<unk>", -1);
        }
        JsonObject model = bpe(unk >= 0 ? v.tokens[unk] : null, true, false);
        model.add("vocab", vocabObject(v));
        JsonArray merges = new JsonArray();
        for (String m : mergesFromScores(v)) {
            merges.add(m);
        }
        model.add("merges", merges);
        json.add("model", model);
    }

    /**
     * BPE merges equivalent to SentencePiece's scores (what transformers' SentencePieceExtractor does): every way of
     * writing a token as two tokens is a merge, ranked by the merged token's score, highest first; llama.cpp's
     * tokenizer merges the adjacent pair whose merged token scores highest, which is the same order. Ties keep the
     * extractor's order (merged token id, then the two parts' ids). Control, unknown, byte and unused tokens are no
     * merge results (text never reaches them through merges: specials are matched first, bytes are a fallback).
     */
    static List<String> mergesFromScores(Vocab v) {
        record Merge(String left, String right, float score, int id, int leftId, int rightId) {
        }
        List<Merge> merges = new ArrayList<>();
        for (int id = 0; id < v.tokens.length; id++) {
            int type = v.types[id];
            if (type != NORMAL && type != USER_DEFINED && type != 0) {
                continue;
            }
            String t = v.tokens[id];
            for (int i = t.offsetByCodePoints(0, 1); i < t.length(); i = t.offsetByCodePoints(i, 1)) {
                Integer l = v.ids.get(t.substring(0, i));
                Integer r = v.ids.get(t.substring(i));
                if (l != null && r != null) {
                    merges.add(new Merge(t.substring(0, i), t.substring(i), v.scores[id], id, l, r));
                }
            }
        }
        merges.sort(Comparator.comparingDouble((Merge m) -> -m.score).thenComparingInt(Merge::id)
                .thenComparingInt(Merge::leftId).thenComparingInt(Merge::rightId));
        List<String> out = new ArrayList<>(merges.size());
        for (Merge m : merges) {
            if (m.left.contains(" ") || m.right.contains(" ")) {
                continue;   // text reaching the model has no spaces (they became ▁); "a b" would not parse
            }
            out.add(m.left + " " + m.right);
        }
        return out;
    }

    /** BOS (and EOS) added around every encoded text, as tokenizer.ggml.add_bos_token / add_eos_token say. */
    private static JsonElement postProcessor(GgufFile f, Vocab v, String model) {
        String pre = f.string("tokenizer.ggml.pre");
        // llama.cpp's defaults: SentencePiece and Llama 3 / Tekken vocabularies add BOS unless the file says otherwise
        boolean bosByDefault = model.equals("llama") || pre != null && (pre.equals("llama3") || pre.equals("llama-v3")
                || pre.equals("llama-bpe") || pre.equals("falcon3") || pre.equals("pixtral") || pre.equals("tekken"));
        Boolean addBos = f.bool("tokenizer.ggml.add_bos_token");
        Boolean addEos = f.bool("tokenizer.ggml.add_eos_token");
        boolean bos = addBos == null ? bosByDefault : addBos;
        boolean eos = addEos != null && addEos;
        int bosId = id(f, "tokenizer.ggml.bos_token_id", v.tokens);
        int eosId = id(f, "tokenizer.ggml.eos_token_id", v.tokens);
        if (bos && bosId < 0) {
            if (addBos != null) {
                throw f.error("metadata key 'tokenizer.ggml.add_bos_token' is true, but 'tokenizer.ggml.bos_token_id' "
                        + "is not set");
            }
            bos = false;
        }
        if (eos && eosId < 0) {
            throw f.error("metadata key 'tokenizer.ggml.add_eos_token' is true, but 'tokenizer.ggml.eos_token_id' is "
                    + "not set");
        }
        if (!bos && !eos) {
            return JsonNull.INSTANCE;
        }
        JsonArray single = new JsonArray();
        JsonArray pair = new JsonArray();
        JsonObject specials = new JsonObject();
        if (bos) {
            single.add(special(v.tokens[bosId]));
            pair.add(special(v.tokens[bosId]));
            specials.add(v.tokens[bosId], specialEntry(v.tokens[bosId], bosId));
        }
        single.add(sequence("A"));
        pair.add(sequence("A"));
        if (eos) {
            single.add(special(v.tokens[eosId]));
            pair.add(special(v.tokens[eosId]));
            specials.add(v.tokens[eosId], specialEntry(v.tokens[eosId], eosId));
        }
        if (bos) {
            pair.add(special(v.tokens[bosId]));
        }
        pair.add(sequence("B"));
        if (eos) {
            pair.add(special(v.tokens[eosId]));
        }
        JsonObject p = new JsonObject();
        p.addProperty("type", "TemplateProcessing");
        p.add("single", single);
        p.add("pair", pair);
        p.add("special_tokens", specials);
        return p;
    }

    private static JsonObject special(String token) {
        JsonObject inner = new JsonObject();
        inner.addProperty("id", token);
        inner.addProperty("type_id", 0);
        JsonObject o = new JsonObject();
        o.add("SpecialToken", inner);
        return o;
    }

    private static JsonObject sequence(String which) {
        JsonObject inner = new JsonObject();
        inner.addProperty("id", which);
        inner.addProperty("type_id", 0);
        JsonObject o = new JsonObject();
        o.add("Sequence", inner);
        return o;
    }

    private static JsonObject specialEntry(String token, int id) {
        JsonObject e = new JsonObject();
        e.addProperty("id", token);
        JsonArray ids = new JsonArray();
        ids.add(id);
        e.add("ids", ids);
        JsonArray tokens = new JsonArray();
        tokens.add(token);
        e.add("tokens", tokens);
        return e;
    }

    /** A token id key, checked to be inside the vocabulary; -1 when absent (llama.cpp ignores an id out of range). */
    private static int id(GgufFile f, String key, String[] tokens) {
        Long id = f.integer(key);
        if (id == null || tokens == null || id < 0 || id >= tokens.length) {
            return -1;
        }
        return (int) (long) id;
    }

    private static JsonObject readObject(Path file) {
        try {
            JsonElement e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!e.isJsonObject()) {
                throw new ModelFormatException(file, "expected a JSON object");
            }
            return e.getAsJsonObject();
        } catch (IOException ex) {
            throw new ModelFormatException(file, "cannot be read: " + ex.getMessage(), ex);
        } catch (JsonParseException ex) {
            throw new ModelFormatException(file, "is not valid JSON: " + ex.getMessage(), ex);
        }
    }
}
