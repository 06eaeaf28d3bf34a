package io.specula.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.util.Map;
import java.util.Set;

/**
 * Makes tokenizer.json encode as transformers 5 does. Transformers loads tokenizer.json unchanged, except for
 * tokenizer classes that rebuild their pipeline from the vocabulary and merges (keeping tokenizer.json's
 * post-processor):
 * <ul>
 *   <li>LlamaTokenizer drops the "Prepend ▁ / Replace space" normalizer for a Metaspace pre-tokenizer that prepends
 *       ▁ only to the start of the text (unless {@code legacy: true}), so text right after a special token gets no
 *       ▁, e.g. "Hi</s>there", and leading spaces are not given one more ▁;</li>
 *   <li>Qwen2Tokenizer installs Qwen2's NFC normalizer, split regex and byte-level pre-tokenizer and decoder;</li>
 *   <li>GemmaTokenizer (Gemma 3) installs Gemma's: spaces replaced by ▁ (no prefix), a split on spaces, byte
 *       fallback (the same as Gemma 3's own tokenizer.json, so this matters only for files written otherwise).</li>
 * </ul>
 * Which class runs is not simply tokenizer_config.json's {@code tokenizer_class}: AutoTokenizer also looks at
 * config.json's {@code model_type} ({@link #effectiveClass}). A Mistral checkpoint whose tokenizer_config says
 * LlamaTokenizer (Mistral 7B v0.1 to v0.3 do) gets its tokenizer.json as it is, and a Qwen2 checkpoint whose
 * tokenizer_config names another class (DeepSeek-R1-Distill-Qwen says LlamaTokenizerFast) gets Qwen2Tokenizer, and
 * a Phi-3 checkpoint whose tokenizer_config says LlamaTokenizer gets its tokenizer.json as it is (phi3 is one of
 * transformers' model types with a known-wrong hub class, registered as TokenizersBackend).
 */
final class TransformersPipeline {

    static final String LLAMA = "LlamaTokenizer";
    static final String QWEN2 = "Qwen2Tokenizer";
    static final String GEMMA = "GemmaTokenizer";
    /** tokenizer.json as it is. */
    static final String BACKEND = "TokenizersBackend";

    /**
     * transformers 5.12.1's TOKENIZER_MAPPING_NAMES for the model types this engine runs ("llama" has no entry);
     * mistral maps to MistralCommonBackend when mistral-common is installed, which without a tekken.json also ends
     * in TokenizersBackend; phi3 has no entry of its own and is given TokenizersBackend as a model type whose hub
     * classes are wrong.
     */
    private static final Map<String, String> MODEL_TYPE_CLASS = Map.of(
            "qwen2", QWEN2, "qwen3", QWEN2, "mistral", BACKEND, "mixtral", BACKEND, "gemma3_text", GEMMA,
            "phi3", BACKEND);
    /** transformers' MODELS_WITH_INCORRECT_HUB_TOKENIZER_CLASS, restricted to the model types above. */
    private static final Set<String> INCORRECT_HUB_CLASS = Set.of("qwen2", "phi3");
    /** Classes that load tokenizer.json as it is. */
    private static final Set<String> GENERIC = Set.of(BACKEND, "PythonBackend", "PreTrainedTokenizer",
            "PreTrainedTokenizerFast", "MistralCommonBackend");

    private static final String QWEN2_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
            + " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

    private TransformersPipeline() {
    }

    /**
     * The tokenizer class AutoTokenizer.from_pretrained instantiates (transformers 5.12.1), "Fast" suffixes dropped:
     * the hub class (tokenizer_config.json's, else config.json's tokenizer_class) unless config.json's model_type
     * registers another one; then a generic registered class (Mistral) means tokenizer.json as it is, and a specific
     * one wins only for model types whose hub classes transformers knows to be wrong (qwen2).
     */
    static String effectiveClass(String hubClass, String modelType) {
        String hub = hubClass == null ? null : hubClass.replaceAll("Fast$", "");
        String registered = modelType == null ? null : MODEL_TYPE_CLASS.get(modelType);
        String chosen;
        if (hub != null && registered != null && !registered.equals(hub)) {
            chosen = GENERIC.contains(registered) ? BACKEND
                    : INCORRECT_HUB_CLASS.contains(modelType) ? registered : hub;
        } else if (hub != null) {
            chosen = hub;
        } else {
            chosen = registered != null ? registered : BACKEND;
        }
        return GENERIC.contains(chosen) ? BACKEND : chosen;
    }

    /**
     * Tokens the tokenizer class makes special whatever tokenizer.json says: transformers registers a class's named
     * special tokens (bos, eos, unk, pad, mask) as special, so decode(skip_special_tokens=True) drops them.
     * GemmaTokenizer names {@code <mask>} by default, which Gemma 3's tokenizer.json adds as not special.
     */
    static Set<String> classSpecialTokens(TokenizerConfig config) {
        return effectiveClass(config.tokenizerClass(), config.modelType()).equals(GEMMA)
                ? Set.of("<pad>", "<eos>", "<bos>", "<unk>", "<mask>") : Set.of();
    }

    /** Returns the tokenizer.json to hand to the native tokenizer (the given object, changed in place). */
    static JsonObject adapt(JsonObject tokenizerJson, TokenizerConfig config) {
        JsonObject model = tokenizerJson.getAsJsonObject("model");
        boolean bpe = model.has("type") && "BPE".equals(model.get("type").getAsString());
        if (!bpe) {
            return tokenizerJson;
        }
        return switch (effectiveClass(config.tokenizerClass(), config.modelType())) {
            case LLAMA -> llama(tokenizerJson, model, config);
            case QWEN2 -> qwen2(tokenizerJson, model, config);
            case GEMMA -> gemma(tokenizerJson, model);
            default -> tokenizerJson;
        };
    }

    private static JsonObject llama(JsonObject tokenizerJson, JsonObject model, TokenizerConfig config) {
        // transformers' LlamaTokenizer.__init__: add_prefix_space defaults to true, legacy to false.
        boolean addPrefixSpace = config.addPrefixSpace() == null || config.addPrefixSpace();
        boolean legacy = Boolean.TRUE.equals(config.legacy());
        String prependScheme = !addPrefixSpace ? "never" : legacy ? "always" : "first";

        model.addProperty("fuse_unk", true);
        model.addProperty("byte_fallback", true);
        model.add("dropout", JsonNull.INSTANCE);
        tokenizerJson.add("normalizer", JsonNull.INSTANCE);
        JsonObject metaspace = new JsonObject();
        metaspace.addProperty("type", "Metaspace");
        metaspace.addProperty("replacement", "▁");
        metaspace.addProperty("prepend_scheme", prependScheme);
        metaspace.addProperty("split", false);
        tokenizerJson.add("pre_tokenizer", metaspace);
        JsonArray decoders = JsonParser.parseString("""
                [{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"}]
                """).getAsJsonArray();
        if (addPrefixSpace) {
            decoders.add(JsonParser.parseString("{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}"));
        }
        JsonObject decoder = new JsonObject();
        decoder.addProperty("type", "Sequence");
        decoder.add("decoders", decoders);
        tokenizerJson.add("decoder", decoder);
        // The post-processor (BOS) stays as tokenizer.json has it: transformers 5.12.1 keeps it too.
        return tokenizerJson;
    }

    /**
     * transformers' GemmaTokenizer.__init__: BPE with byte fallback and fused unknowns, Replace(" ", "▁"), a Split on
     * " " (merged with the previous piece), Replace/ByteFallback/Fuse decoding; the post-processor (BOS) stays.
     */
    private static JsonObject gemma(JsonObject tokenizerJson, JsonObject model) {
        model.addProperty("fuse_unk", true);
        model.addProperty("byte_fallback", true);
        model.add("dropout", JsonNull.INSTANCE);
        tokenizerJson.add("normalizer", JsonParser.parseString(
                "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"▁\"}"));
        tokenizerJson.add("pre_tokenizer", JsonParser.parseString("{\"type\":\"Split\",\"pattern\":{\"String\":\" \"},"
                + "\"behavior\":\"MergedWithPrevious\",\"invert\":false}"));
        tokenizerJson.add("decoder", JsonParser.parseString("""
                {"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},
                 {"type":"ByteFallback"},{"type":"Fuse"}]}"""));
        return tokenizerJson;
    }

    /** transformers' Qwen2Tokenizer.__init__: its own BPE options, normalizer, pre-tokenizer and decoder. */
    private static JsonObject qwen2(JsonObject tokenizerJson, JsonObject model, TokenizerConfig config) {
        boolean addPrefixSpace = Boolean.TRUE.equals(config.addPrefixSpace());
        model.add("dropout", JsonNull.INSTANCE);
        model.add("unk_token", JsonNull.INSTANCE);
        model.addProperty("continuing_subword_prefix", "");
        model.addProperty("end_of_word_suffix", "");
        model.addProperty("fuse_unk", false);
        model.addProperty("byte_fallback", false);
        model.addProperty("ignore_merges", false);
        tokenizerJson.add("normalizer", JsonParser.parseString("{\"type\":\"NFC\"}"));
        JsonObject split = new JsonObject();
        split.addProperty("type", "Split");
        JsonObject pattern = new JsonObject();
        pattern.addProperty("Regex", QWEN2_SPLIT);
        split.add("pattern", pattern);
        split.addProperty("behavior", "Isolated");
        split.addProperty("invert", false);
        JsonObject byteLevel = new JsonObject();
        byteLevel.addProperty("type", "ByteLevel");
        byteLevel.addProperty("add_prefix_space", addPrefixSpace);
        byteLevel.addProperty("trim_offsets", true);
        byteLevel.addProperty("use_regex", false);
        JsonArray pre = new JsonArray();
        pre.add(split);
        pre.add(byteLevel);
        JsonObject sequence = new JsonObject();
        sequence.addProperty("type", "Sequence");
        sequence.add("pretokenizers", pre);
        tokenizerJson.add("pre_tokenizer", sequence);
        tokenizerJson.add("decoder", JsonParser.parseString(
                "{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true}"));
        return tokenizerJson;
    }
}
