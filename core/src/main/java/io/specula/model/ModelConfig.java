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
 * What {@code config.json} says about a causal language model of the Llama family (Llama 2 and 3.x, Mistral, Qwen2,
 * Qwen3). Every field that is missing gets the default transformers uses for that architecture; a field of the wrong
 * type or value fails with the file and field named.
 *
 * <p>Why one class of ~400 lines: one field per config.json key with transformers' default and its check, read top to
 * bottom like the file itself; split, the defaults of one architecture would live in several places.
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
        List<Integer> eosTokenIds) {

    /** The architectures this engine computes; they differ only in biases, norms and defaults. */
    public enum Architecture {
        LLAMA("LlamaForCausalLM"),
        MISTRAL("MistralForCausalLM"),
        QWEN2("Qwen2ForCausalLM"),
        QWEN3("Qwen3ForCausalLM");

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
            throw new ModelFormatException(file, "field 'architectures': unsupported architecture '" + name
                    + "'; expected one of LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM");
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

    public int kvDim() {
        return numKvHeads * headDim;
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
                f.has("eos_token_id") ? f.intList("eos_token_id") : defaultEos(arch));
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
            default -> throw new ModelFormatException(file, "field 'model_type': unsupported '" + modelType
                    + "' (and no 'architectures'); expected llama, mistral, qwen2 or qwen3");
        };
    }

    /** The defaults of LlamaConfig, MistralConfig, Qwen2Config and Qwen3Config. */
    private static int defaultMaxPositions(Architecture arch) {
        return switch (arch) {
            case LLAMA -> 2048;
            case MISTRAL -> 4096 * 32;
            case QWEN2, QWEN3 -> 32768;
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
        };
    }

    /**
     * The RoPE settings: the legacy {@code rope_scaling} when present (transformers lets it win), else
     * transformers 5's {@code rope_parameters}; {@code null} when neither is present.
     */
    private static JsonObject ropeParameters(Fields f) {
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
