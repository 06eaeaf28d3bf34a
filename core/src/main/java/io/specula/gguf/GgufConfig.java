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
 *       (q/k/v biases), {@code qwen3} (q/k norms), {@code gemma3} (Gemma 3 text) and {@code phi3} (Phi-3, Phi-3.5-mini,
 *       Phi-4-mini); anything else is refused;</li>
 *   <li>tied output: no {@code output.weight} tensor means the embedding is the output head;</li>
 *   <li>Llama 3 RoPE scaling is a {@code rope_freqs} tensor of per-frequency divisors, used as such;
 *       {@code rope.scaling.type} linear or yarn is refused for the Llama family (the engine computes plain and
 *       Llama 3 RoPE there);</li>
 *   <li>no sliding window for the Llama family (llama.cpp's llama graph attends to the whole context);</li>
 *   <li>{@code gemma3}: the converter writes neither the layer pattern nor {@code query_pre_attn_scalar}; they are
 *       llama.cpp's: every 6th layer global, the others sliding with {@code attention.sliding_window} (none when the
 *       key is absent or 0) and {@code rope.freq_base_swa} (default 1e4), queries scaled by {@code head_dim ** -0.5}
 *       (by {@code (hidden / heads) ** -0.5} for the 62-layer 27B model), linear {@code rope.scaling} on the global
 *       layers, {@code final_logit_softcapping} when written; its norm tensors hold {@code 1 + w}
 *       ({@link GgufWeights#gemmaNormsIncludeOne});</li>
 *   <li>{@code phi3}: partial rotary from {@code rope.dimension_count}, longrope from the
 *       {@code rope_factors_short}/{@code rope_factors_long} tensors with {@code rope.scaling.original_context_length}
 *       and {@code rope.scaling.attn_factor}, used by transformers' rule (see {@code Rope}; llama.cpp picks one set
 *       for the whole context by its size), and {@code attention.sliding_window} on every layer when above 0, as
 *       transformers applies it (llama.cpp b11669 turns Phi-3's sliding window off).</li>
 * </ul>
 * The Gemma 3 and Phi-3 hyperparameters are written as the config.json that says the same and read by the same
 * readers as a Hugging Face directory ({@code Gemma3Config}, {@code Phi3Config}), so both paths check them alike.
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
            case "gemma3" -> ModelConfig.Architecture.GEMMA3;
            case "phi3" -> ModelConfig.Architecture.PHI3;
            default -> throw f.error("architecture '" + arch + "' (general.architecture) is not supported; expected "
                    + "llama (Llama 2 and 3.x, Mistral), qwen2, qwen3, gemma3 or phi3");
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
        boolean phi3 = architecture == ModelConfig.Architecture.PHI3;
        if (phi3 ? ropeDims > headDim || ropeDims % 2 != 0 : ropeDims != headDim) {
            throw f.error("metadata key '" + arch + ".rope.dimension_count': " + ropeDims + " rotated dimensions of "
                    + "a head of " + headDim + (phi3 ? "; expected an even number up to the head size"
                    : "; partial rotary embeddings are not supported for " + arch));
        }
        Tensor embd = f.tensor("token_embd.weight");
        if (embd == null || embd.ne().length != 2) {
            throw f.error("tensor 'token_embd.weight' (the token embedding) is missing or not 2-dimensional");
        }
        int vocab = k.positive("vocab_size", (int) Math.min(Integer.MAX_VALUE, embd.rows()));
        String scaling = f.string(arch + ".rope.scaling.type");
        Double factor = f.number(arch + ".rope.scaling.factor");
        boolean gemma3 = architecture == ModelConfig.Architecture.GEMMA3;
        boolean linear = gemma3 && "linear".equals(scaling) && factor != null && factor > 0;
        if (scaling != null && !scaling.equals("none") && !(factor != null && factor == 1.0) && !linear) {
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
        if (gemma3) {
            gemma3(f, k, c, layers, hidden, heads, linear ? factor : null);
        } else if (phi3) {
            phi3(f, k, c, headDim, ropeDims);
        }
        ModelConfig parsed = ModelConfig.parse(f.path(), c);
        if (parsed.rotaryDim() != ropeDims) {
            throw f.error("metadata key '" + arch + ".rope.dimension_count': " + ropeDims + " rotated dimensions of a "
                    + "head of " + headDim + " cannot be written as a partial rotary factor");
        }
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
        return parsed.withRopeScaling(ModelConfig.RopeScaling.ofDivisors(divisors));
    }

    /** Layers pattern every 6th global as llama.cpp's gemma3 loader (its {@code set_swa_pattern(6)}). */
    static final int GEMMA3_GLOBAL_EVERY = 6;
    /** llama.cpp's type check for Gemma 3 27B, whose queries are scaled by hidden / heads instead of head_dim. */
    static final int GEMMA3_27B_LAYERS = 62;

    /** The Gemma 3 settings the converter leaves out or writes under gemma3.*, as transformers 5's config.json. */
    private static void gemma3(GgufFile f, Keys k, JsonObject c, int layers, int hidden, int heads, Double linear) {
        String arch = k.arch();
        Long window = f.integer(arch + ".attention.sliding_window");
        if (window != null && window < 0) {
            throw f.wrongType(arch + ".attention.sliding_window", "a window of 0 or more positions");
        }
        boolean sliding = window != null && window > 0;
        JsonArray types = new JsonArray();
        for (int i = 0; i < layers; i++) {
            types.add(sliding && i % GEMMA3_GLOBAL_EVERY < GEMMA3_GLOBAL_EVERY - 1 ? "sliding_attention"
                    : "full_attention");
        }
        c.add("layer_types", types);
        c.addProperty("sliding_window", sliding ? window : c.get("max_position_embeddings").getAsInt());
        JsonObject full = new JsonObject();
        full.addProperty("rope_theta", k.positiveNumber("rope.freq_base", 1_000_000.0));
        if (linear != null) {
            full.addProperty("rope_type", "linear");
            full.addProperty("factor", linear);
        } else {
            full.addProperty("rope_type", "default");
        }
        JsonObject local = new JsonObject();
        local.addProperty("rope_theta", k.positiveNumber("rope.freq_base_swa", 10_000.0));
        local.addProperty("rope_type", "default");
        JsonObject rope = new JsonObject();
        rope.add("full_attention", full);
        rope.add("sliding_attention", local);
        c.add("rope_parameters", rope);
        c.remove("rope_theta");
        c.addProperty("query_pre_attn_scalar", layers == GEMMA3_27B_LAYERS ? (double) hidden / heads
                : c.get("head_dim").getAsInt());
        Double finalCap = f.number(arch + ".final_logit_softcapping");
        if (finalCap != null) {
            c.addProperty("final_logit_softcapping", finalCap);
        }
        Double attnCap = f.number(arch + ".attn_logit_softcapping");
        if (attnCap != null) {
            c.addProperty("attn_logit_softcapping", attnCap);
        }
    }

    /** Phi-3's partial rotary, longrope (from the rope_factors tensors) and sliding window, as its config.json. */
    private static void phi3(GgufFile f, Keys k, JsonObject c, int headDim, int ropeDims) {
        String arch = k.arch();
        c.addProperty("partial_rotary_factor", (double) ropeDims / headDim);
        Long window = f.integer(arch + ".attention.sliding_window");
        if (window != null && window > 0) {
            c.addProperty("sliding_window", window);
        }
        Tensor shortFactors = f.tensor("rope_factors_short.weight");
        Tensor longFactors = f.tensor("rope_factors_long.weight");
        if (shortFactors == null && longFactors == null) {
            return;
        }
        int half = ropeDims / 2;
        for (Tensor t : new Tensor[] {shortFactors, longFactors}) {
            if (t == null || t.elements() != half) {
                throw f.error("tensors 'rope_factors_short.weight' and 'rope_factors_long.weight' (longrope): expected "
                        + half + " factors each (one per rotated frequency), found " + (t == null ? "only one of them"
                        : t));
            }
        }
        GgufWeights w = new GgufWeights(f, false, 1, 1);
        JsonObject rope = new JsonObject();
        rope.addProperty("rope_type", "longrope");
        rope.add("short_factor", array(w.factors("rope_factors_short.weight", half)));
        rope.add("long_factor", array(w.factors("rope_factors_long.weight", half)));
        int original = k.positive("rope.scaling.original_context_length", null);
        rope.addProperty("original_max_position_embeddings", original);
        c.addProperty("original_max_position_embeddings", original);
        Double attention = f.number(arch + ".rope.scaling.attn_factor");
        if (attention != null) {
            rope.addProperty("attention_factor", attention);
        }
        c.add("rope_scaling", rope);
    }

    private static JsonArray array(float[] values) {
        JsonArray a = new JsonArray();
        for (float v : values) {
            a.add((double) v);
        }
        return a;
    }

    /** Typed access to {@code {arch}.*} keys with errors that name the key. */
    record Keys(GgufFile f, String arch) {

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
