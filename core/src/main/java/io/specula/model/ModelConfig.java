package io.specula.model;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What {@code config.json} says about a causal language model: the Llama family (Llama 2 and 3.x, Mistral, Qwen2,
 * Qwen3) read here, Gemma 3 ({@link Gemma3Config}) and Phi-3/Phi-4-mini ({@link Phi3Config}) by their own readers.
 * Every field that is missing gets the default transformers uses for that architecture; a field of the wrong type or
 * value fails with the file and field named.
 *
 * <p>The components after {@code eosTokenIds} are what Gemma 3 and Phi-3 add; a Llama-family model has
 * {@link #slidingLayers} null (every layer follows {@link #slidingWindow}), no local rope base, no linear or longrope
 * scaling, full rotary dimensions, the usual 1/sqrt(head_dim) attention scale, no softcapping and SiLU.
 *
 * <p>Why one class of ~560 lines: one field per config.json key with transformers' default and its check, read top to
 * bottom like the file itself; split, the defaults of one architecture would live in several places. (Gemma 3's and
 * Phi-3's readers are apart because their fields and defaults differ from the Llama family's.)
 */
public record ModelConfig(
        Architecture architecture,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositionEmbeddings,
        float rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean tieWordEmbeddings,
        boolean attentionBias,
        boolean mlpBias,
        boolean qkNorm,
        int slidingWindow,
        String torchDtype,
        int bosTokenId,
        List<Integer> eosTokenIds,
        List<Boolean> slidingLayers,
        double ropeLocalTheta,
        double ropeLinearFactor,
        LongRope longRope,
        double partialRotaryFactor,
        double queryPreAttnScalar,
        double finalLogitSoftcapping,
        double attnLogitSoftcapping,
        String hiddenActivation) {

    /** The architectures this engine computes; they differ only in biases, norms and defaults. */
    public enum Architecture {
        LLAMA("LlamaForCausalLM"),
        MISTRAL("MistralForCausalLM"),
        QWEN2("Qwen2ForCausalLM"),
        QWEN3("Qwen3ForCausalLM"),
        /** Gemma 3 text-only (model_type gemma3_text): its own decoder layer, {@code Gemma3Model}. */
        GEMMA3("Gemma3ForCausalLM"),
        /** Phi-3, Phi-3.5-mini and Phi-4-mini: the Llama math with fused tensors, longrope and partial rotary. */
        PHI3("Phi3ForCausalLM");

        private final String className;

        Architecture(String className) {
            this.className = className;
        }

        public String className() {
            return className;
        }

        static Architecture fromClassName(Path file, String name) {
            for (Architecture a : values()) {
                if (a.className.equals(name)) {
                    return a;
                }
            }
            if (name.equals("Gemma3ForConditionalGeneration")) {
                throw new ModelFormatException(file, "field 'architectures': Gemma3ForConditionalGeneration (the "
                        + "multimodal Gemma 3 4B/12B/27B checkpoints, text_config nested and weights under "
                        + "language_model) is not supported; only the text-only Gemma3ForCausalLM (model_type "
                        + "gemma3_text, e.g. gemma-3-1b) can be loaded");
            }
            throw new ModelFormatException(file, "field 'architectures': unsupported architecture '" + name
                    + "'; expected one of " + names());
        }

        static String names() {
            StringBuilder sb = new StringBuilder();
            for (Architecture a : values()) {
                sb.append(sb.isEmpty() ? "" : ", ").append(a.className);
            }
            return sb.toString();
        }
    }

    /**
     * Llama 3.x RoPE frequency scaling ({@code rope_scaling.rope_type = "llama3"}); {@code null} in
     * {@link ModelConfig#ropeScaling()} when the model uses plain RoPE.
     *
     * <p>A GGUF file stores the same scaling as llama.cpp applies it, one divisor per frequency (its
     * {@code rope_freqs} tensor): then {@code frequencyDivisors} is set and the other fields are 0.
     */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings, float[] frequencyDivisors) {

        public RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
                           int originalMaxPositionEmbeddings) {
            this(factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings, null);
        }

        /** The scaling as per-frequency divisors (headDim / 2 of them), as a GGUF file's rope_freqs holds it. */
        public static RopeScaling ofDivisors(float[] divisors) {
            return new RopeScaling(0, 0, 0, 0, divisors.clone());
        }
    }

    /**
     * Phi-3's {@code longrope} (also written {@code su}, and {@code yarn}, which transformers' Phi3Config reads as
     * longrope): per-frequency divisors for short contexts and for long ones, the pre-training context that separates
     * them, and the factor cos and sin are multiplied by (the attention scaling). {@code Rope} has the rule for
     * which divisors a position gets.
     */
    public record LongRope(List<Double> shortFactor, List<Double> longFactor, int originalMaxPositionEmbeddings,
                           double attentionFactor) {
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** The sliding window of {@code layer} in positions, 0 when it attends to the whole context. */
    public int windowOf(int layer) {
        return slidingLayers == null || slidingLayers.get(layer) ? slidingWindow : 0;
    }

    /** Dimensions of each head that RoPE rotates: {@code int(head_dim * partial_rotary_factor)}, as transformers. */
    public int rotaryDim() {
        return (int) (headDim * partialRotaryFactor);
    }

    /** What q.k is multiplied by: {@code query_pre_attn_scalar ** -0.5} for Gemma, else {@code head_dim ** -0.5}. */
    public float attentionScale() {
        return (float) (1.0 / Math.sqrt(queryPreAttnScalar > 0 ? queryPreAttnScalar : headDim));
    }

    /** The same configuration with {@code tie_word_embeddings} set to {@code tied}. */
    public ModelConfig withTiedWordEmbeddings(boolean tied) {
        return new ModelConfig(architecture, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta, ropeScaling, tied, attentionBias, mlpBias,
                qkNorm, slidingWindow, torchDtype, bosTokenId, eosTokenIds, slidingLayers, ropeLocalTheta,
                ropeLinearFactor, longRope, partialRotaryFactor, queryPreAttnScalar, finalLogitSoftcapping,
                attnLogitSoftcapping, hiddenActivation);
    }

    /** The same configuration with {@code ropeScaling} instead (a GGUF file's rope_freqs divisors). */
    public ModelConfig withRopeScaling(RopeScaling scaling) {
        return new ModelConfig(architecture, vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                headDim, maxPositionEmbeddings, rmsNormEps, ropeTheta, scaling, tieWordEmbeddings, attentionBias,
                mlpBias, qkNorm, slidingWindow, torchDtype, bosTokenId, eosTokenIds, slidingLayers, ropeLocalTheta,
                ropeLinearFactor, longRope, partialRotaryFactor, queryPreAttnScalar, finalLogitSoftcapping,
                attnLogitSoftcapping, hiddenActivation);
    }

    public int qDim() {
        return numHeads * headDim;
    }

    /** Reads {@code dir/config.json}. */
    public static ModelConfig read(Path dir) {
        Path file = dir.resolve("config.json");
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "missing: a Hugging Face model directory needs config.json");
        }
        JsonObject json;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw new ModelFormatException(file, "expected a JSON object");
            }
            json = parsed.getAsJsonObject();
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof ModelFormatException mfe) {
                throw mfe;
            }
            throw new ModelFormatException(file, "is not valid JSON: " + e.getMessage(), e);
        }
        return parse(file, json);
    }

    /** Parses an already-read config.json object; {@code file} is only used in error messages. */
    public static ModelConfig parse(Path file, JsonObject json) {
        Fields f = new Fields(file, json);
        Architecture arch = architecture(file, f);
        if (arch == Architecture.GEMMA3) {
            return Gemma3Config.parse(file, f);
        }
        if (arch == Architecture.PHI3) {
            return Phi3Config.parse(file, f);
        }

        int hidden = f.positiveInt("hidden_size", null);
        int heads = f.positiveInt("num_attention_heads", null);
        int kvHeads = f.positiveInt("num_key_value_heads", heads);
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(file, "field 'num_key_value_heads': " + kvHeads
                    + " does not divide num_attention_heads " + heads);
        }
        // Qwen3Config alone has a fixed default (128) instead of hidden_size / num_attention_heads.
        Integer defaultHeadDim = arch == Architecture.QWEN3 ? Integer.valueOf(128)
                : hidden % heads == 0 ? Integer.valueOf(hidden / heads) : null;
        int headDim = f.positiveInt("head_dim", defaultHeadDim);
        if (headDim % 2 != 0) {
            throw new ModelFormatException(file, "field 'head_dim': " + headDim + " must be even for rotary embeddings");
        }
        boolean qwen3 = arch == Architecture.QWEN3;
        JsonObject rope = ropeParameters(f);
        RopeScaling scaling = parseRopeScaling(file, f, rope);
        int window = 0;
        if (arch == Architecture.MISTRAL || f.bool("use_sliding_window", false)) {
            Integer w = f.optionalInt("sliding_window");
            window = w == null ? 0 : w;
        }
        return new ModelConfig(
                arch,
                f.positiveInt("vocab_size", null),
                hidden,
                f.positiveInt("intermediate_size", null),
                f.positiveInt("num_hidden_layers", null),
                heads,
                kvHeads,
                headDim,
                f.positiveInt("max_position_embeddings", defaultMaxPositions(arch)),
                (float) f.positiveDouble("rms_norm_eps", 1e-6),
                ropeTheta(file, f, rope),
                scaling,
                f.bool("tie_word_embeddings", false),
                attentionBias(arch, f),
                f.bool("mlp_bias", false),
                qwen3,
                window,
                // transformers 5 writes "dtype" and keeps it when both are present; older versions wrote torch_dtype.
                f.string("dtype", f.string("torch_dtype", "float32")),
                f.has("bos_token_id") ? f.optionalIntOr("bos_token_id", -1) : defaultBos(arch),
                f.has("eos_token_id") ? f.intList("eos_token_id") : defaultEos(arch),
                null, 0, 1, null, 1.0, 0, 0, 0, "silu");
    }

    /** From {@code architectures[0]}, or, when a config has none, from {@code model_type} as AutoModel does. */
    private static Architecture architecture(Path file, Fields f) {
        JsonArray archs = f.array("architectures");
        if (archs != null && !archs.isEmpty()) {
            if (!archs.get(0).isJsonPrimitive() || !archs.get(0).getAsJsonPrimitive().isString()) {
                throw new ModelFormatException(file, "field 'architectures': expected a list of class names, got "
                        + archs);
            }
            return Architecture.fromClassName(file, archs.get(0).getAsString());
        }
        String modelType = f.string("model_type", null);
        if (modelType == null) {
            throw new ModelFormatException(file, "field 'architectures': missing; expected e.g. [\"LlamaForCausalLM\"]");
        }
        return switch (modelType) {
            case "llama" -> Architecture.LLAMA;
            case "mistral" -> Architecture.MISTRAL;
            case "qwen2" -> Architecture.QWEN2;
            case "qwen3" -> Architecture.QWEN3;
            case "gemma3_text" -> Architecture.GEMMA3;
            case "phi3" -> Architecture.PHI3;
            case "gemma3" -> throw new ModelFormatException(file, "field 'model_type': 'gemma3' is the multimodal "
                    + "Gemma3ForConditionalGeneration, which is not supported; expected gemma3_text (Gemma3ForCausalLM)");
            default -> throw new ModelFormatException(file, "field 'model_type': unsupported '" + modelType
                    + "' (and no 'architectures'); expected llama, mistral, qwen2, qwen3, gemma3_text or phi3");
        };
    }

    /** The defaults of LlamaConfig, MistralConfig, Qwen2Config and Qwen3Config. */
    private static int defaultMaxPositions(Architecture arch) {
        return switch (arch) {
            case LLAMA -> 2048;
            case MISTRAL -> 4096 * 32;
            case QWEN2, QWEN3 -> 32768;
            case GEMMA3, PHI3 -> throw new IllegalStateException(arch + " is read by its own config reader");
        };
    }

    private static int defaultBos(Architecture arch) {
        return arch == Architecture.LLAMA || arch == Architecture.MISTRAL ? 1 : -1;
    }

    private static List<Integer> defaultEos(Architecture arch) {
        return arch == Architecture.LLAMA || arch == Architecture.MISTRAL ? List.of(2) : List.of();
    }

    /**
     * Whether q/k/v have biases. Qwen2 always has them and Mistral never, whatever the file says (their modeling
     * code ignores the field); Llama and Qwen3 follow {@code attention_bias}.
     */
    private static boolean attentionBias(Architecture arch, Fields f) {
        return switch (arch) {
            case QWEN2 -> true;
            case MISTRAL -> false;
            case LLAMA, QWEN3 -> f.bool("attention_bias", false);
            case GEMMA3, PHI3 -> throw new IllegalStateException(arch + " is read by its own config reader");
        };
    }

    /**
     * The RoPE settings: the legacy {@code rope_scaling} when present (transformers lets it win), else
     * transformers 5's {@code rope_parameters}; {@code null} when neither is present.
     */
    static JsonObject ropeParameters(Fields f) {
        JsonObject legacy = f.object("rope_scaling");
        return legacy != null ? legacy : f.object("rope_parameters");
    }

    /** transformers 5 keeps theta in rope_parameters.rope_theta; older files have a top-level rope_theta. */
    private static double ropeTheta(Path file, Fields f, JsonObject rope) {
        if (rope != null && rope.has("rope_theta") && !rope.get("rope_theta").isJsonNull()) {
            return new Fields(file, rope, "rope_parameters.").positiveDouble("rope_theta", null);
        }
        return f.positiveDouble("rope_theta", 10000.0);
    }

    private static RopeScaling parseRopeScaling(Path file, Fields f, JsonObject rs) {
        if (rs == null) {
            return null;
        }
        Fields s = new Fields(file, rs, f.object("rope_scaling") != null ? "rope_scaling." : "rope_parameters.");
        String type = s.string("rope_type", s.string("type", "default")).toLowerCase(Locale.ROOT);
        if (type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new ModelFormatException(file, "field '" + s.prefix + "rope_type': unsupported '" + type
                    + "'; expected 'llama3' or 'default'");
        }
        return new RopeScaling(
                s.positiveDouble("factor", null),
                s.positiveDouble("low_freq_factor", null),
                s.positiveDouble("high_freq_factor", null),
                s.positiveInt("original_max_position_embeddings", null));
    }

    /** Typed access to JSON fields with errors that name the file and the field. */
    static final class Fields {
        private final Path file;
        private final JsonObject json;
        private final String prefix;

        Fields(Path file, JsonObject json) {
            this(file, json, "");
        }

        Fields(Path file, JsonObject json, String prefix) {
            this.file = file;
            this.json = json;
            this.prefix = prefix;
        }

        private JsonElement get(String name) {
            JsonElement e = json.get(name);
            return e == null || e.isJsonNull() ? null : e;
        }

        boolean has(String name) {
            return json.has(name);
        }

        /** Only JSON numbers count: Gson would otherwise read "64" or [64] as 64. */
        private static double number(JsonElement e) {
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
                throw new UnsupportedOperationException("not a number");
            }
            return e.getAsDouble();
        }

        ModelFormatException error(String name, String expected, JsonElement got) {
            return new ModelFormatException(file, "field '" + prefix + name + "': expected " + expected + ", got "
                    + (got == null ? "nothing" : got));
        }

        int positiveInt(String name, Integer defaultValue) {
            JsonElement e = get(name);
            if (e == null) {
                if (defaultValue == null) {
                    throw error(name, "a positive integer", null);
                }
                return defaultValue;
            }
            try {
                double d = number(e);
                if (d != Math.rint(d) || d < 1 || d > Integer.MAX_VALUE) {
                    throw error(name, "a positive integer", e);
                }
                return (int) d;
            } catch (UnsupportedOperationException | IllegalStateException | NumberFormatException ex) {
                throw error(name, "a positive integer", e);
            }
        }

        Integer optionalInt(String name) {
            JsonElement e = get(name);
            if (e == null) {
                return null;
            }
            try {
                double d = number(e);
                if (d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE) {
                    throw error(name, "a non-negative integer", e);
                }
                return (int) d;
            } catch (UnsupportedOperationException | IllegalStateException | NumberFormatException ex) {
                throw error(name, "a non-negative integer", e);
            }
        }

        /** A token id, or the first of a list of them; {@code defaultValue} when absent, null or empty. */
        int optionalIntOr(String name, int defaultValue) {
            List<Integer> ids = intList(name);
            return ids.isEmpty() ? defaultValue : ids.get(0);
        }

        /** A token id or a list of them (as eos_token_id may be); empty when absent or null. */
        List<Integer> intList(String name) {
            JsonElement e = get(name);
            if (e == null) {
                return List.of();
            }
            if (!e.isJsonArray()) {
                return List.of(optionalInt(name));
            }
            List<Integer> out = new ArrayList<>();
            for (JsonElement x : e.getAsJsonArray()) {
                Double d = x.isJsonPrimitive() && x.getAsJsonPrimitive().isNumber() ? x.getAsDouble() : null;
                if (d == null || d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE) {
                    throw error(name, "a token id or a list of token ids", e);
                }
                out.add(d.intValue());
            }
            return List.copyOf(out);
        }

        /** Any finite number; range checks are the caller's, with its own wording. */
        double finiteDouble(String name, double defaultValue) {
            JsonElement e = get(name);
            if (e == null) {
                return defaultValue;
            }
            try {
                double d = number(e);
                if (!Double.isFinite(d)) {
                    throw error(name, "a finite number", e);
                }
                return d;
            } catch (UnsupportedOperationException | IllegalStateException | NumberFormatException ex) {
                throw error(name, "a number", e);
            }
        }

        double positiveDouble(String name, Double defaultValue) {
            JsonElement e = get(name);
            if (e == null) {
                if (defaultValue == null) {
                    throw error(name, "a positive number", null);
                }
                return defaultValue;
            }
            try {
                double d = number(e);
                if (!(d > 0) || Double.isInfinite(d)) {
                    throw error(name, "a positive number", e);
                }
                return d;
            } catch (UnsupportedOperationException | IllegalStateException | NumberFormatException ex) {
                throw error(name, "a positive number", e);
            }
        }

        /** A list of numbers (longrope's factors); null when absent or null. */
        List<Double> doubleList(String name) {
            JsonElement e = get(name);
            if (e == null) {
                return null;
            }
            if (!e.isJsonArray()) {
                throw error(name, "a list of numbers", e);
            }
            List<Double> out = new ArrayList<>();
            for (JsonElement x : e.getAsJsonArray()) {
                if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isNumber() || !Double.isFinite(x.getAsDouble())) {
                    throw error(name, "a list of numbers", e);
                }
                out.add(x.getAsDouble());
            }
            return List.copyOf(out);
        }

        /** The name of a field as error messages write it, e.g. "rope_parameters.rope_type". */
        String path(String name) {
            return prefix + name;
        }

        Path file() {
            return file;
        }

        boolean bool(String name, boolean defaultValue) {
            JsonElement e = get(name);
            if (e == null) {
                return defaultValue;
            }
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
                throw error(name, "true or false", e);
            }
            return e.getAsBoolean();
        }

        String string(String name, String defaultValue) {
            JsonElement e = get(name);
            if (e == null) {
                return defaultValue;
            }
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
                throw error(name, "a string", e);
            }
            return e.getAsString();
        }

        JsonObject object(String name) {
            JsonElement e = get(name);
            if (e == null) {
                return null;
            }
            if (!e.isJsonObject()) {
                throw error(name, "an object", e);
            }
            return e.getAsJsonObject();
        }

        JsonArray array(String name) {
            JsonElement e = get(name);
            if (e == null) {
                return null;
            }
            if (!e.isJsonArray()) {
                throw error(name, "a list", e);
            }
            return e.getAsJsonArray();
        }
    }
}
