package io.specula.model;

import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import io.specula.model.ModelConfig.Architecture;
import io.specula.model.ModelConfig.Fields;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Reads a Phi-3 config.json ({@code Phi3ForCausalLM}: Phi-3-mini/medium, Phi-3.5-mini, Phi-4-mini) as transformers
 * 5.12.1's {@code Phi3Config} does:
 * <ul>
 *   <li>RoPE from {@code rope_scaling} (the legacy name wins) or {@code rope_parameters}: {@code default}, or
 *       {@code longrope}, which {@code su} and {@code yarn} are read as; longrope needs {@code short_factor} and
 *       {@code long_factor} with one entry per rotated frequency;</li>
 *   <li>the top-level {@code original_max_position_embeddings} (default 4096) wins over one inside the rope
 *       settings, as {@code standardize_rope_params} gives it priority for Phi-3;</li>
 *   <li>{@code factor} defaults to max_position_embeddings / original_max_position_embeddings, and the attention
 *       factor to {@code sqrt(1 + ln(factor) / ln(original))} (1 when factor &lt;= 1), as
 *       {@code _compute_longrope_parameters};</li>
 *   <li>{@code partial_rotary_factor}: the top-level value wins over the rope settings' (Phi-4-mini: 0.75);</li>
 *   <li>{@code sliding_window}, when not null, applies to every layer (Phi-3-mini-4k: 2047).</li>
 * </ul>
 * Phi-3 has no biases: transformers' Phi3 modules ignore {@code attention_bias} and {@code mlp_bias}, so does this.
 */
final class Phi3Config {

    private Phi3Config() {
    }

    static ModelConfig parse(Path file, Fields f) {
        String activation = f.string("hidden_act", "silu");
        if (!activation.equals("silu")) {
            throw new ModelFormatException(file, "field 'hidden_act': unsupported '" + activation
                    + "'; expected silu");
        }
        int hidden = f.positiveInt("hidden_size", null);
        int heads = f.positiveInt("num_attention_heads", null);
        int kvHeads = f.positiveInt("num_key_value_heads", heads);
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(file, "field 'num_key_value_heads': " + kvHeads
                    + " does not divide num_attention_heads " + heads);
        }
        int headDim = f.positiveInt("head_dim", hidden % heads == 0 ? Integer.valueOf(hidden / heads) : null);
        int maxPositions = f.positiveInt("max_position_embeddings", 4096);

        JsonObject rs = ModelConfig.ropeParameters(f);
        Fields rope = new Fields(file, rs == null ? new JsonObject() : rs,
                f.object("rope_scaling") != null ? "rope_scaling." : "rope_parameters.");
        double theta = rope.has("rope_theta") ? rope.positiveDouble("rope_theta", null)
                : f.positiveDouble("rope_theta", 10_000.0);
        double partial = f.has("partial_rotary_factor") ? f.positiveDouble("partial_rotary_factor", null)
                : rope.positiveDouble("partial_rotary_factor", 1.0);
        int rotaryDim = (int) (headDim * partial);
        if (partial > 1 || rotaryDim < 2 || rotaryDim % 2 != 0) {
            throw new ModelFormatException(file, "field 'partial_rotary_factor': " + partial + " of head_dim "
                    + headDim + " rotates " + rotaryDim + " dimensions; expected an even number from 2 to head_dim");
        }
        String type = rope.string("rope_type", rope.string("type", "default")).toLowerCase(Locale.ROOT);
        ModelConfig.LongRope longRope = switch (type) {
            case "default" -> null;
            case "longrope", "su", "yarn" -> longRope(f, rope, maxPositions, rotaryDim);
            default -> throw new ModelFormatException(file, "field '" + rope.path("rope_type") + "': unsupported '"
                    + type + "' for Phi-3; expected 'default' or 'longrope' (or its older names su, yarn)");
        };
        int window = f.optionalInt("sliding_window") == null ? 0 : f.positiveInt("sliding_window", null);

        return new ModelConfig(
                Architecture.PHI3,
                f.positiveInt("vocab_size", null),
                hidden,
                f.positiveInt("intermediate_size", null),
                f.positiveInt("num_hidden_layers", null),
                heads,
                kvHeads,
                headDim,
                maxPositions,
                (float) f.positiveDouble("rms_norm_eps", 1e-5),
                theta,
                null,
                f.bool("tie_word_embeddings", false),
                false,
                false,
                false,
                window,
                f.string("dtype", f.string("torch_dtype", "float32")),
                f.has("bos_token_id") ? f.optionalIntOr("bos_token_id", -1) : 1,
                f.has("eos_token_id") ? f.intList("eos_token_id") : List.of(32000),
                null,
                0,
                1,
                longRope,
                partial,
                0,
                0,
                0,
                activation);
    }

    private static ModelConfig.LongRope longRope(Fields f, Fields rope, int maxPositions, int rotaryDim) {
        int original = f.positiveInt("original_max_position_embeddings",
                rope.positiveInt("original_max_position_embeddings", 4096));
        List<Double> shortFactor = factors(rope, "short_factor", rotaryDim);
        List<Double> longFactor = factors(rope, "long_factor", rotaryDim);
        double factor = rope.has("factor") && rope.finiteDouble("factor", 0) != 0
                ? rope.positiveDouble("factor", null) : (double) maxPositions / original;
        double attentionFactor;
        if (rope.has("attention_factor") && rope.finiteDouble("attention_factor", 0) != 0) {
            attentionFactor = rope.positiveDouble("attention_factor", null);
        } else {
            attentionFactor = factor <= 1.0 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(original));
        }
        return new ModelConfig.LongRope(shortFactor, longFactor, original, attentionFactor);
    }

    private static List<Double> factors(Fields rope, String name, int rotaryDim) {
        List<Double> v = rope.doubleList(name);
        if (v == null || v.size() != rotaryDim / 2 || v.stream().anyMatch(x -> !(x > 0))) {
            throw rope.error(name, "a list of " + rotaryDim / 2 + " positive numbers (one per rotated frequency)",
                    v == null ? null : new JsonPrimitive(v.size() + " numbers " + v));
        }
        return v;
    }
}
