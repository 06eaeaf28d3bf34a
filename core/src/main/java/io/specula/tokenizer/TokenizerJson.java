package io.specula.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import io.specula.model.ModelFormatException;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * tokenizer.json, parsed and checked before the native library sees it: a malformed file must become a
 * {@link ModelFormatException}, never a crash inside the Rust tokenizer. Also the id -> token table, which DJL's
 * tokenizer API does not expose. Read once per model directory: the tokenizer and the GGUF export both take it from
 * here.
 */
public final class TokenizerJson {

    private static final Pattern BYTE_TOKEN = Pattern.compile("<0x[0-9A-Fa-f]{2}>");

    final Path file;
    /** The parsed file; null in a {@link #withoutTree()} copy, which is what a loaded tokenizer keeps. */
    final JsonObject root;
    private final String[] tokens;          // id -> token string (null for ids nothing names)
    private final boolean[] addedToken;     // id -> an added token
    private final boolean[] addedSpecial;   // id -> added token with "special": true
    private final Map<String, Integer> ids;
    private final boolean decodesByteFallback;
    private final boolean decodesByteLevel;
    private final boolean decodesMetaspace;

    /** A copy without the tree (see {@link #withoutTree()}). */
    private TokenizerJson(TokenizerJson full) {
        this.file = full.file;
        this.root = null;
        this.tokens = full.tokens;
        this.addedToken = full.addedToken;
        this.addedSpecial = full.addedSpecial;
        this.ids = full.ids;
        this.decodesByteFallback = full.decodesByteFallback;
        this.decodesByteLevel = full.decodesByteLevel;
        this.decodesMetaspace = full.decodesMetaspace;
    }

    private TokenizerJson(Path file, JsonObject root) {
        this.file = file;
        this.root = root;
        this.ids = new HashMap<>();
        JsonElement decoder = root.get("decoder");
        String decoders = decoder == null ? "" : decoder.toString();
        this.decodesByteFallback = decoders.contains("\"ByteFallback\"");
        this.decodesByteLevel = decoders.contains("\"ByteLevel\"");
        this.decodesMetaspace = decoders.contains("\"Metaspace\"") || decoders.contains("▁");
        JsonObject model = root.getAsJsonObject("model");
        Map<Integer, String> byId = new HashMap<>();
        JsonElement vocab = model.get("vocab");
        if (vocab.isJsonObject()) {                     // BPE, WordPiece, WordLevel: {"token": id}
            for (Map.Entry<String, JsonElement> e : vocab.getAsJsonObject().entrySet()) {
                byId.put(intValue(e.getValue(), "model.vocab[\"" + e.getKey() + "\"]"), e.getKey());
            }
        } else {                                         // Unigram: [[token, score], ...], the index is the id
            JsonArray entries = vocab.getAsJsonArray();
            for (int i = 0; i < entries.size(); i++) {
                JsonElement entry = entries.get(i);
                if (!entry.isJsonArray() || entry.getAsJsonArray().isEmpty()) {
                    throw new ModelFormatException(file, "model.vocab[" + i + "] is not a [token, score] pair");
                }
                byId.put(i, entry.getAsJsonArray().get(0).getAsString());
            }
        }
        Map<Integer, Boolean> special = new HashMap<>();
        JsonElement added = root.get("added_tokens");
        if (added != null && !added.isJsonNull()) {
            if (!added.isJsonArray()) {
                throw new ModelFormatException(file, "added_tokens must be an array");
            }
            for (JsonElement t : added.getAsJsonArray()) {
                if (!t.isJsonObject() || !t.getAsJsonObject().has("content")) {
                    throw new ModelFormatException(file, "added_tokens entries need an id and a content");
                }
                JsonObject o = t.getAsJsonObject();
                int id = intValue(o.get("id"), "added_tokens[].id");
                byId.put(id, o.get("content").getAsString());
                special.put(id, o.has("special") && o.get("special").getAsBoolean());
            }
        }
        int size = byId.keySet().stream().mapToInt(Integer::intValue).max().orElse(-1) + 1;
        tokens = new String[size];
        addedToken = new boolean[size];
        addedSpecial = new boolean[size];
        byId.forEach((id, token) -> {
            tokens[id] = token;
            ids.putIfAbsent(token, id);
        });
        special.forEach((id, s) -> {
            addedToken[id] = true;
            addedSpecial[id] = s;
        });
    }

    /** Reads and validates {@code dir/tokenizer.json}. */
    public static TokenizerJson read(Path dir) {
        Path file = dir.resolve("tokenizer.json");
        JsonElement parsed;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            parsed = JsonParser.parseReader(r);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "missing: a Hugging Face tokenizer (tokenizer.json, as saved by "
                    + "the tokenizers library) is expected in the model directory");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        } catch (JsonParseException | IllegalStateException e) {
            throw new ModelFormatException(file, "is not valid JSON: " + e.getMessage(), e);
        }
        if (!parsed.isJsonObject()) {
            throw new ModelFormatException(file, "expected a JSON object with a \"model\", found " + kind(parsed));
        }
        return of(file, parsed.getAsJsonObject());
    }

    /** Validates a tokenizer.json already in memory (e.g. made from a GGUF file's metadata); {@code file} names it. */
    static TokenizerJson of(Path file, JsonObject root) {
        JsonElement model = root.get("model");
        if (model == null || !model.isJsonObject()) {
            throw new ModelFormatException(file, "expected a \"model\" object (BPE, Unigram, WordPiece or WordLevel)");
        }
        JsonElement vocab = model.getAsJsonObject().get("vocab");
        if (vocab == null || !(vocab.isJsonObject() || vocab.isJsonArray())) {
            throw new ModelFormatException(file, "expected model.vocab (an object, or an array for Unigram)");
        }
        TokenizerJson json;
        try {
            json = new TokenizerJson(file, root);
        } catch (IllegalStateException | UnsupportedOperationException | ClassCastException
                 | NumberFormatException e) {
            throw new ModelFormatException(file, "malformed vocabulary or added_tokens: " + e.getMessage(), e);
        }
        if (json.vocabSize() == 0) {
            throw new ModelFormatException(file, "model.vocab and added_tokens are empty: a tokenizer needs tokens");
        }
        return json;
    }

    /** Number of ids: the largest id named by model.vocab or added_tokens, plus one. */
    public int vocabSize() {
        return tokens.length;
    }

    public String token(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** Id of a token (vocabulary or added), or -1. */
    int id(String token) {
        Integer id = token == null ? null : ids.get(token);
        return id == null ? -1 : id;
    }

    public boolean isAddedSpecial(int id) {
        return id >= 0 && id < addedSpecial.length && addedSpecial[id];
    }

    /** Whether the id is one of added_tokens (special or not). */
    public boolean isAdded(int id) {
        return id >= 0 && id < addedToken.length && addedToken[id];
    }

    /** The file this was read from. */
    public Path file() {
        return file;
    }

    /** model.type: "BPE", "Unigram", "WordPiece", "WordLevel" ({@code null} when absent). */
    public String modelType() {
        return string(tree().getAsJsonObject("model").get("type"));
    }

    /** Whether the BPE model falls back to {@code <0xNN>} byte tokens (model.byte_fallback). */
    public boolean byteFallback() {
        JsonElement e = tree().getAsJsonObject("model").get("byte_fallback");
        return e != null && e.isJsonPrimitive() && e.getAsBoolean();
    }

    /** model.unk_token, or {@code null}. */
    public String unkToken() {
        return string(tree().getAsJsonObject("model").get("unk_token"));
    }

    /** The BPE merges as "left right", from either form tokenizer.json uses (strings, or pairs since tokenizers 0.20). */
    public List<String> merges() {
        List<String> out = new ArrayList<>();
        JsonElement merges = tree().getAsJsonObject("model").get("merges");
        if (merges == null || !merges.isJsonArray()) {
            return out;
        }
        for (JsonElement m : merges.getAsJsonArray()) {
            if (m.isJsonArray()) {
                out.add(m.getAsJsonArray().get(0).getAsString() + " " + m.getAsJsonArray().get(1).getAsString());
            } else {
                out.add(m.getAsString());
            }
        }
        return out;
    }

    /** The pre_tokenizer section as written, or {@code null}. */
    public JsonElement preTokenizer() {
        return tree().get("pre_tokenizer");
    }

    /** The post_processor section as written, or {@code null}. */
    public JsonElement postProcessor() {
        return tree().get("post_processor");
    }

    private static String string(JsonElement e) {
        return e == null || e.isJsonNull() || !e.isJsonPrimitive() ? null : e.getAsString();
    }

    /** True when the decoder turns {@code <0xNN>} tokens back into bytes (SentencePiece byte fallback). */
    boolean decodesByteFallback() {
        return decodesByteFallback;
    }

    /** True when the decoder maps GPT-2's byte-level alphabet back to bytes (GPT-2, Llama 3, Qwen). */
    boolean decodesByteLevel() {
        return decodesByteLevel;
    }

    /** True when the decoder turns SentencePiece's ▁ back into a space (a Metaspace or Replace decoder). */
    boolean decodesMetaspace() {
        return decodesMetaspace;
    }

    /**
     * The same vocabulary without the parsed file, for a tokenizer that stays loaded: the tree of a 128k-token
     * tokenizer.json is ~60 MB of Gson objects (Llama 3), kept alive next to the weights for nothing once the native
     * tokenizer is built. The copy answers every question but the sections of the file ({@link #modelType},
     * {@link #merges}, ...).
     */
    TokenizerJson withoutTree() {
        return root == null ? this : new TokenizerJson(this);
    }

    private JsonObject tree() {
        if (root == null) {
            throw new IllegalStateException(file + ": this copy of tokenizer.json keeps its vocabulary only");
        }
        return root;
    }

    boolean isByteToken(int id) {
        String t = token(id);
        return t != null && BYTE_TOKEN.matcher(t).matches();
    }

    private int intValue(JsonElement e, String where) {
        if (e == null || !e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
            throw new ModelFormatException(file, where + " must be an integer id");
        }
        int id = e.getAsInt();
        if (id < 0 || id > 16_000_000) {
            throw new ModelFormatException(file, where + " = " + id + " is not a plausible token id");
        }
        return id;
    }

    private static String kind(JsonElement e) {
        return e.isJsonArray() ? "an array" : e.isJsonNull() ? "null" : "a " + e.getClass().getSimpleName();
    }
}
