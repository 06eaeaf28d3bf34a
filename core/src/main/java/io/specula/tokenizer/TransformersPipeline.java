package io.specula.tokenizer;

import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.util.Set;

/**
 * Makes tokenizer.json encode as transformers 5 does. Transformers loads tokenizer.json unchanged, except for
 * tokenizer classes that rebuild their pipeline from the vocabulary and merges: of those, only LlamaTokenizer
 * (Llama-2, Mistral, TinyLlama...) builds one that differs from what their tokenizer.json says. It drops the
 * "Prepend ▁ / Replace space" normalizer for a Metaspace pre-tokenizer that prepends ▁ only to the start of the
 * text (unless {@code legacy: true}), so text right after a special token gets no ▁, e.g. "Hi</s>there".
 * Qwen2Tokenizer and GPT2Tokenizer rebuild exactly what their files say, so they are left alone.
 */
final class TransformersPipeline {

    private static final Set<String> LLAMA_CLASSES = Set.of("LlamaTokenizer", "LlamaTokenizerFast");

    private TransformersPipeline() {
    }

    /** Returns the tokenizer.json to hand to the native tokenizer (the given object, changed in place). */
    static JsonObject adapt(JsonObject tokenizerJson, TokenizerConfig config) {
        JsonObject model = tokenizerJson.getAsJsonObject("model");
        boolean bpe = model.has("type") && "BPE".equals(model.get("type").getAsString());
        if (config.tokenizerClass() == null || !LLAMA_CLASSES.contains(config.tokenizerClass()) || !bpe) {
            return tokenizerJson;
        }
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
}
