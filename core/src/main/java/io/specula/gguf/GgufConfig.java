package io.specula.gguf;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.specula.gguf.GgufFile.Tensor;
import io.specula.model.ModelConfig;
import io.specula.model.ModelFormatException;


/**
 * A GGUF file's hyperparameters as a {@link ModelConfig}, read as llama.cpp's model loader reads them
 * ({@code {arch}.block_count}, {@code embedding_length}, {@code attention.head_count}, ...), each key checked here so
 * that an error names the GGUF key and the file. Conventions of llama.cpp's converter that are undone or followed:
 * <ul>
 *   <li>architectures: {@code llama} (Llama 2/3.x, and Mistral, which the converter writes as llama), {@code qwen2}
 *       (q/k/v biases), {@code qwen3} (q/k norms); anything else is refused;</li>
 *   <li>tied output: no {@code output.weight} tensor means the embedding is the output head;</li>
 *   <li>Llama 3 RoPE scaling is a {@code rope_freqs} tensor of per-frequency divisors, used as such;
 *       {@code rope.scaling.type} linear or yarn is refused (the engine computes plain and Llama 3 RoPE only);</li>
 *   <li>no sliding window (llama.cpp's llama graph attends to the whole context).</li>
 * </ul>
 */
public final class GgufConfig {

    private static final java.util.regex.Pattern BLOCK = java.util.regex.Pattern.compile("blk\\.(\\d+)\\.");

    private GgufConfig() {
    }

    /** The model's hyperparameters; fails naming the key for a missing or impossible value. */
    public static ModelConfig read(GgufFile f) {
        String arch = f.string("general.architecture");
        if (arch == null) {
            throw f.error("metadata key 'general.architecture' is missing: not a model file?");
        }
        ModelConfig.Architecture architecture = switch (arch) {
            case "llama" -> ModelConfig.Architecture.LLAMA;
            case "qwen2" -> ModelConfig.Architecture.QWEN2;
            case "qwen3" -> ModelConfig.Architecture.QWEN3;
            default -> throw f.error("architecture '" + arch + "' (general.architecture) is not supported; expected "
                    + "llama (Llama 2 and 3.x, Mistral), qwen2 or qwen3");
        };
        Keys k = new Keys(f, arch);
        int layers = k.positive("block_count", null);
        int blocks = 0;   // the file's own count: one more than the highest blk.N
        for (String name : f.tensors().keySet()) {
            java.util.regex.Matcher m = BLOCK.matcher(name);
            if (m.lookingAt() && m.group(1).length() < 10) {
                blocks = Math.max(blocks, Integer.parseInt(m.group(1)) + 1);
            }
        }
        if (layers != blocks) {
            throw f.error("metadata key '" + arch + ".block_count' says " + layers + " layers, but the file has "
                    + "tensors for " + blocks + " (blk.0 to blk." + (blocks - 1) + ")");
        }
        int hidden = k.positive("embedding_length", null);
        int ff = k.positive("feed_forward_length", null);
        int heads = k.positive("attention.head_count", null);
        int kvHeads = k.positive("attention.head_count_kv", heads);
        if (heads % kvHeads != 0) {
            throw f.error("metadata key '" + arch + ".attention.head_count_kv': " + kvHeads
                    + " does not divide attention.head_count " + heads);
        }
        Integer defaultHeadDim = hidden % heads == 0 ? hidden / heads : null;
        int headDim = k.positive("attention.key_length", defaultHeadDim);
        int valueDim = k.positive("attention.value_length", headDim);
        if (valueDim != headDim || headDim % 2 != 0) {
            throw f.error("metadata keys '" + arch + ".attention.key_length' " + headDim + " and 'value_length' "
                    + valueDim + ": expected one even head size");
        }
        int ropeDims = k.positive("rope.dimension_count", headDim);
        if (ropeDims != headDim) {
            throw f.error("metadata key '" + arch + ".rope.dimension_count': " + ropeDims + " rotated dimensions of "
                    + "a head of " + headDim + "; partial rotary embeddings are not supported");
        }
        Tensor embd = f.tensor("token_embd.weight");
        if (embd == null || embd.ne().length != 2) {
            throw f.error("tensor 'token_embd.weight' (the token embedding) is missing or not 2-dimensional");
        }
        int vocab = k.positive("vocab_size", (int) Math.min(Integer.MAX_VALUE, embd.rows()));
        String scaling = f.string(arch + ".rope.scaling.type");
        Double factor = f.number(arch + ".rope.scaling.factor");
        if (scaling != null && !scaling.equals("none") && !(factor != null && factor == 1.0)) {
            throw f.error("metadata key '" + arch + ".rope.scaling.type': '" + scaling + "' RoPE scaling is not "
                    + "supported (only plain RoPE and Llama 3's rope_freqs)");
        }

        JsonObject c = new JsonObject();
        JsonArray classes = new JsonArray();
        classes.add(architecture.className());
        c.add("architectures", classes);
        c.addProperty("vocab_size", vocab);
        c.addProperty("hidden_size", hidden);
        c.addProperty("intermediate_size", ff);
        c.addProperty("num_hidden_layers", layers);
        c.addProperty("num_attention_heads", heads);
        c.addProperty("num_key_value_heads", kvHeads);
        c.addProperty("head_dim", headDim);
        c.addProperty("max_position_embeddings", k.positive("context_length", null));
        c.addProperty("rms_norm_eps", k.positiveNumber("attention.layer_norm_rms_epsilon", null));
        c.addProperty("rope_theta", k.positiveNumber("rope.freq_base", 10000.0));
        c.addProperty("tie_word_embeddings", f.tensor("output.weight") == null);
        c.addProperty("attention_bias", f.tensor("blk.0.attn_q.bias") != null);
        c.addProperty("mlp_bias", f.tensor("blk.0.ffn_up.bias") != null);
        c.addProperty("dtype", switch (embd.type()) {
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> "float32";
        });
        Long bos = f.integer("tokenizer.ggml.bos_token_id");
        Long eos = f.integer("tokenizer.ggml.eos_token_id");
        if (bos != null) {
            c.addProperty("bos_token_id", bos);
        } else {
            c.add("bos_token_id", com.google.gson.JsonNull.INSTANCE);
        }
        if (eos != null) {
            c.addProperty("eos_token_id", eos);
        } else {
            c.add("eos_token_id", com.google.gson.JsonNull.INSTANCE);
        }
        ModelConfig parsed = ModelConfig.parse(f.path(), c);
        Tensor freqs = f.tensor("rope_freqs.weight");
        if (freqs == null) {
            return parsed;
        }
        if (freqs.elements() != headDim / 2) {
            throw f.error("tensor 'rope_freqs.weight': " + freqs.elements() + " frequency factors for a head of "
                    + headDim + " (expected " + headDim / 2 + ")");
        }
        float[] divisors = new GgufWeights(f, false, heads, kvHeads).ropeFreqs(headDim / 2);
        for (float d : divisors) {
            if (!(d > 0) || Float.isInfinite(d)) {
                throw f.error("tensor 'rope_freqs.weight': frequency factors must be positive and finite, found " + d);
            }
        }
        return new ModelConfig(parsed.architecture(), parsed.vocabSize(), parsed.hiddenSize(),
                parsed.intermediateSize(), parsed.numLayers(), parsed.numHeads(), parsed.numKvHeads(),
                parsed.headDim(), parsed.maxPositionEmbeddings(), parsed.rmsNormEps(), parsed.ropeTheta(),
                ModelConfig.RopeScaling.ofDivisors(divisors), parsed.tieWordEmbeddings(), parsed.attentionBias(),
                parsed.mlpBias(), parsed.qkNorm(), parsed.slidingWindow(), parsed.torchDtype(), parsed.bosTokenId(),
                parsed.eosTokenIds());
    }

    /** Typed access to {@code {arch}.*} keys with errors that name the key. */
    private record Keys(GgufFile f, String arch) {

        int positive(String name, Integer defaultValue) {
            String key = arch + "." + name;
            Object v = f.value(key);
            if (v == null) {
                if (defaultValue == null) {
                    throw f.error("metadata key '" + key + "' is missing; llama.cpp needs it too");
                }
                return defaultValue;
            }
            if (v instanceof long[] perLayer) {   // some converters write per-layer head counts
                if (perLayer.length == 0) {
                    throw f.wrongType(key, "a positive integer");
                }
                for (long x : perLayer) {
                    if (x != perLayer[0]) {
                        throw f.error("metadata key '" + key + "': different values per layer are not supported");
                    }
                }
                v = perLayer[0];
            }
            if (!(v instanceof Long l) || l < 1 || l > Integer.MAX_VALUE) {
                throw f.wrongType(key, "a positive integer");
            }
            return (int) (long) l;
        }

        double positiveNumber(String name, Double defaultValue) {
            String key = arch + "." + name;
            Double d = f.number(key);
            if (d == null) {
                if (defaultValue == null) {
                    throw f.error("metadata key '" + key + "' is missing; llama.cpp needs it too");
                }
                return defaultValue;
            }
            if (!(d > 0) || Double.isInfinite(d)) {
                throw f.wrongType(key, "a positive number");
            }
            return d;
        }
    }
}
