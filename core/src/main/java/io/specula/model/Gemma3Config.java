package io.specula.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.specula.model.ModelConfig.Architecture;
import io.specula.model.ModelConfig.Fields;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Reads a Gemma 3 text model's config.json ({@code Gemma3ForCausalLM}, {@code model_type: gemma3_text}) as
 * transformers 5.12.1's {@code Gemma3TextConfig} does, in both layouts found on the Hub:
 * <ul>
 *   <li>as Google published it (transformers 4.50): {@code sliding_window_pattern} (every n-th layer global, the rest
 *       sliding), {@code rope_theta} for the global layers, {@code rope_local_base_freq} for the sliding ones and
 *       {@code rope_scaling} (the global layers' only);</li>
 *   <li>as transformers 5 saves it: {@code layer_types} and {@code rope_parameters} keyed by layer type.</li>
 * </ul>
 * Missing fields get Gemma3TextConfig's defaults (head_dim 256, query_pre_attn_scalar 256, sliding_window 4096, a
 * pattern of 6, rope bases 1e6 and 1e4, tied embeddings). What the engine cannot compute is refused with the field
 * named: another activation than tanh-GELU, bidirectional attention (EmbeddingGemma), RoPE types other than default
 * and linear.
 */
final class Gemma3Config {

    static final String SLIDING = "sliding_attention";
    static final String FULL = "full_attention";

    private Gemma3Config() {
    }

    static ModelConfig parse(Path file, Fields f) {
        if (f.bool("use_bidirectional_attention", false)) {
            throw new ModelFormatException(file, "field 'use_bidirectional_attention': true (an embedding model such "
                    + "as EmbeddingGemma) is not supported; expected false for a causal language model");
        }
        String activation = f.string("hidden_activation", "gelu_pytorch_tanh");
        if (!activation.equals("gelu_pytorch_tanh")) {
            throw new ModelFormatException(file, "field 'hidden_activation': unsupported '" + activation
                    + "'; expected gelu_pytorch_tanh (Gemma 3's tanh-approximated GELU)");
        }
        int hidden = f.positiveInt("hidden_size", null);
        int heads = f.positiveInt("num_attention_heads", null);
        int kvHeads = f.positiveInt("num_key_value_heads", 4);
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(file, "field 'num_key_value_heads': " + kvHeads
                    + " does not divide num_attention_heads " + heads);
        }
        int headDim = f.positiveInt("head_dim", 256);
        if (headDim % 2 != 0) {
            throw new ModelFormatException(file, "field 'head_dim': " + headDim + " must be even for rotary embeddings");
        }
        int layers = f.positiveInt("num_hidden_layers", null);
        if (f.has("sliding_window") && f.optionalInt("sliding_window") == null) {
            throw f.error("sliding_window", "a positive integer (the local layers' window)", null);
        }
        int window = f.positiveInt("sliding_window", 4096);

        // Rope: rope_parameters keyed by layer type (transformers 5), else the legacy fields; the legacy rope_scaling
        // is the global layers' (Gemma3TextConfig.convert_rope_params_to_dict updates full_attention with it).
        JsonObject params = f.object("rope_parameters");
        if (params != null) {
            for (String key : params.keySet()) {
                if (!key.equals(FULL) && !key.equals(SLIDING)) {
                    throw new ModelFormatException(file, "field 'rope_parameters': expected one entry per layer type "
                            + "(" + FULL + ", " + SLIDING + "), got key '" + key + "'");
                }
            }
        }
        Fields byType = new Fields(file, params == null ? new JsonObject() : params, "rope_parameters.");
        JsonObject full = copy(byType.object(FULL));
        JsonObject local = copy(byType.object(SLIDING));
        JsonObject legacyScaling = f.object("rope_scaling");
        if (legacyScaling != null) {
            legacyScaling.entrySet().forEach(e -> full.add(e.getKey(), e.getValue()));
        }
        Fields fullRope = new Fields(file, full, params != null ? "rope_parameters." + FULL + "." : "rope_scaling.");
        Fields localRope = new Fields(file, local, "rope_parameters." + SLIDING + ".");
        double globalTheta = fullRope.has("rope_theta") ? fullRope.positiveDouble("rope_theta", null)
                : f.positiveDouble("rope_theta", 1_000_000.0);
        double localTheta = localRope.has("rope_theta") ? localRope.positiveDouble("rope_theta", null)
                : f.positiveDouble("rope_local_base_freq", 10_000.0);
        double linearFactor = linearFactor(fullRope);
        if (linearFactor(localRope) != 1.0) {
            throw new ModelFormatException(file, "field 'rope_parameters." + SLIDING + "': scaled RoPE on the "
                    + "sliding-window layers is not supported (Gemma 3 scales the global layers only)");
        }

        return new ModelConfig(
                Architecture.GEMMA3,
                f.positiveInt("vocab_size", null),
                hidden,
                f.positiveInt("intermediate_size", null),
                layers,
                heads,
                kvHeads,
                headDim,
                f.positiveInt("max_position_embeddings", 131_072),
                (float) f.positiveDouble("rms_norm_eps", 1e-6),
                globalTheta,
                null,
                f.bool("tie_word_embeddings", true),
                f.bool("attention_bias", false),
                false,
                true,
                window,
                f.string("dtype", f.string("torch_dtype", "float32")),
                f.has("bos_token_id") ? f.optionalIntOr("bos_token_id", -1) : 2,
                f.has("eos_token_id") ? f.intList("eos_token_id") : List.of(1),
                slidingLayers(file, f, layers),
                localTheta,
                linearFactor,
                null,
                1.0,
                f.positiveDouble("query_pre_attn_scalar", 256.0),
                softcap(f, "final_logit_softcapping"),
                softcap(f, "attn_logit_softcapping"),
                activation);
    }

    /** {@code layer_types} when given, else Gemma3TextConfig's rule: every {@code sliding_window_pattern}-th global. */
    private static List<Boolean> slidingLayers(Path file, Fields f, int layers) {
        JsonArray types = f.array("layer_types");
        List<Boolean> out = new ArrayList<>();
        if (types != null) {
            if (types.size() != layers) {
                throw f.error("layer_types", "one entry per layer (" + layers + ")", types);
            }
            for (JsonElement t : types) {
                String type = t.isJsonPrimitive() && t.getAsJsonPrimitive().isString() ? t.getAsString() : "";
                if (!type.equals(SLIDING) && !type.equals(FULL)) {
                    throw f.error("layer_types", "entries \"" + SLIDING + "\" or \"" + FULL + "\"", types);
                }
                out.add(type.equals(SLIDING));
            }
        } else {
            int pattern = f.positiveInt("sliding_window_pattern", 6);
            for (int i = 0; i < layers; i++) {
                out.add((i + 1) % pattern != 0);
            }
        }
        return List.copyOf(out);
    }

    /** 1 for plain RoPE, the divisor of every frequency for {@code linear}; other RoPE types are refused. */
    private static double linearFactor(Fields rope) {
        String type = rope.string("rope_type", rope.string("type", "default")).toLowerCase(Locale.ROOT);
        return switch (type) {
            case "default" -> 1.0;
            case "linear" -> rope.positiveDouble("factor", null);
            default -> throw new ModelFormatException(rope.file(), "field '" + rope.path("rope_type")
                    + "': unsupported '" + type + "' for Gemma 3; expected 'default' or 'linear'");
        };
    }

    /**
     * 0 when the field is absent or null (Gemma 3 sets both to null), else a positive cap (transformers would divide
     * by a cap of 0).
     */
    private static double softcap(Fields f, String name) {
        boolean unset = f.finiteDouble(name, Double.NEGATIVE_INFINITY) == Double.NEGATIVE_INFINITY;
        return unset ? 0 : f.positiveDouble(name, null);
    }

    private static JsonObject copy(JsonObject o) {
        return o == null ? new JsonObject() : o.deepCopy();
    }
}
