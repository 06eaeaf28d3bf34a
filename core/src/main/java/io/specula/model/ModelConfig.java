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
     */
    public record RopeScaling(double factor, double lowFreqFactor, double highFreqFactor,
                              int originalMaxPositionEmbeddings) {
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
        JsonArray archs = f.array("architectures");
        if (archs == null || archs.isEmpty()) {
            throw new ModelFormatException(file, "field 'architectures': missing; expected e.g. [\"LlamaForCausalLM\"]");
        }
        if (!archs.get(0).isJsonPrimitive()) {
            throw new ModelFormatException(file, "field 'architectures': expected a list of class names");
        }
        Architecture arch = Architecture.fromClassName(file, archs.get(0).getAsString());

        int hidden = f.positiveInt("hidden_size", null);
        int heads = f.positiveInt("num_attention_heads", null);
        int kvHeads = f.positiveInt("num_key_value_heads", heads);
        if (heads % kvHeads != 0) {
            throw new ModelFormatException(file, "field 'num_key_value_heads': " + kvHeads
                    + " does not divide num_attention_heads " + heads);
        }
        Integer defaultHeadDim = hidden % heads == 0 ? hidden / heads : null;
        int headDim = f.positiveInt("head_dim", defaultHeadDim);
        if (headDim % 2 != 0) {
            throw new ModelFormatException(file, "field 'head_dim': " + headDim + " must be even for rotary embeddings");
        }
        boolean qwen2 = arch == Architecture.QWEN2;
        boolean qwen3 = arch == Architecture.QWEN3;
        RopeScaling scaling = parseRopeScaling(file, f);
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
                f.positiveInt("max_position_embeddings", 2048),
                (float) f.positiveDouble("rms_norm_eps", 1e-6),
                f.positiveDouble("rope_theta", 10000.0),
                scaling,
                f.bool("tie_word_embeddings", false),
                f.bool("attention_bias", qwen2),
                f.bool("mlp_bias", false),
                qwen3,
                window,
                f.string("torch_dtype", f.string("dtype", "float32")),
                f.optionalIntOr("bos_token_id", -1),
                f.intList("eos_token_id"));
    }

    private static RopeScaling parseRopeScaling(Path file, Fields f) {
        JsonObject rs = f.object("rope_scaling");
        if (rs == null) {
            // transformers 5 may also write rope settings under "rope_parameters".
            rs = f.object("rope_parameters");
            if (rs != null && !rs.has("rope_type")) {
                return null;
            }
        }
        if (rs == null) {
            return null;
        }
        Fields s = new Fields(file, rs, "rope_scaling.");
        String type = s.string("rope_type", s.string("type", "default")).toLowerCase(Locale.ROOT);
        if (type.equals("default")) {
            return null;
        }
        if (!type.equals("llama3")) {
            throw new ModelFormatException(file, "field 'rope_scaling.rope_type': unsupported '" + type
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

        private ModelFormatException error(String name, String expected, JsonElement got) {
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
                double d = e.getAsDouble();
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
                double d = e.getAsDouble();
                if (d != Math.rint(d) || d < 0 || d > Integer.MAX_VALUE) {
                    throw error(name, "a non-negative integer", e);
                }
                return (int) d;
            } catch (UnsupportedOperationException | IllegalStateException | NumberFormatException ex) {
                throw error(name, "a non-negative integer", e);
            }
        }

        int optionalIntOr(String name, int defaultValue) {
            JsonElement e = get(name);
            if (e != null && e.isJsonArray()) {
                JsonArray a = e.getAsJsonArray();
                return a.isEmpty() ? defaultValue : new Fields(file, wrap(a.get(0)), prefix).optionalIntOr("v", defaultValue);
            }
            Integer v = optionalInt(name);
            return v == null ? defaultValue : v;
        }

        private static JsonObject wrap(JsonElement e) {
            JsonObject o = new JsonObject();
            o.add("v", e);
            return o;
        }

        List<Integer> intList(String name) {
            JsonElement e = get(name);
            List<Integer> out = new ArrayList<>();
            if (e == null) {
                return List.copyOf(out);
            }
            if (e.isJsonArray()) {
                for (JsonElement x : e.getAsJsonArray()) {
                    Integer v = new Fields(file, wrap(x), prefix + name).optionalInt("v");
                    if (v == null) {
                        throw error(name, "a list of token ids", e);
                    }
                    out.add(v);
                }
            } else {
                out.add(optionalInt(name));
            }
            return List.copyOf(out);
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
                double d = e.getAsDouble();
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
