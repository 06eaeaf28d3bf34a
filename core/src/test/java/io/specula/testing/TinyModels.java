package io.specula.testing;

import com.google.gson.JsonParser;
import io.specula.SpeculaException;
import io.specula.model.ModelConfig;
import io.specula.model.safetensors.DType;
import io.specula.kernel.HalfFloats;
import io.specula.model.safetensors.SafeTensorsWriter;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Writes tiny, seeded random models in the Hugging Face layout that transformers 5 loads: {@code config.json} and
 * {@code generation_config.json} with the fields and key order {@code save_pretrained} writes, and safetensors weights
 * with the exact tensor names, in one file or sharded with an index. Tokenizer files are not written here (see
 * TinyTokenizers); the caller gives the vocabulary size and the bos/eos ids.
 *
 * <pre>
 *   Path dir = TinyModels.spec(Family.QWEN3, 300, 1, 2).dtype(DType.BF16).shards(2).writeTo(tmp);
 * </pre>
 *
 * Checked against transformers 5.12.1 (shared/tools/hf-reference): every family, tied and untied, F32/F16/BF16,
 * single file and sharded, loads without warnings and decodes greedily to the same ids as {@code LlamaModel}.
 *
 * <p>The same spec writes the same bytes on every run and JVM: weights come from a {@link SplittableRandom} seeded by the
 * spec's seed and the tensor name ({@code String.hashCode} is specified), JSON keys are sorted.
 *
 * <p>Weights are scaled (not transformers' 0.02 init, which gives near-uniform logits at this size) so that the output
 * is far from uniform and depends on the input: projections have a standard deviation of about 1/sqrt(fan_in), the
 * output head gives logits with a spread of about 2, layer norm weights are 1 plus a little noise. Greedy decoding
 * then wanders over many tokens instead of repeating one from the start (it may still fall into a loop after a few
 * dozen tokens, as random models do). Top-2 logit gaps of a few thousandths do occur.
 */
public final class TinyModels {

    /** transformers version the files claim to come from: the format these writers follow. */
    public static final String TRANSFORMERS_VERSION = "5.0.0";

    public enum Family {
        /** Llama 2 style: plain RoPE, theta 10000. */
        LLAMA,
        /** Llama 3.x: theta 500000 and llama3 RoPE scaling, tuned so that tiny head sizes are really rescaled. */
        LLAMA3,
        MISTRAL,
        /** Qwen2: q/k/v biases. */
        QWEN2,
        /** Qwen3: q/k RMS norms and a head_dim (24) that is not hidden_size / heads. */
        QWEN3,
        /**
         * Gemma 3 text (Gemma3ForCausalLM): hidden 96 (sqrt not a power of two), head_dim 32 (not 96 / 4),
         * query_pre_attn_scalar 24, 3 layers (sliding, sliding, global), window 4, tied; four (1 + w) norms per layer.
         */
        GEMMA3,
        /** Phi-3 (Phi3ForCausalLM): fused qkv_proj and gate_up_proj; longrope and partial rotary when set. */
        PHI3
    }

    private TinyModels() {
    }

    /** A tiny model of {@code family} (hidden 64, 2 layers, 4 heads, 2 KV heads, MLP 128), to adjust and write. */
    public static Spec spec(Family family, int vocabSize, int bosTokenId, int... eosTokenIds) {
        return new Spec(family, vocabSize, bosTokenId, eosTokenIds);
    }

    /** Shortcut: writes the default tiny model of {@code family} into {@code dir}. */
    public static Path write(Path dir, Family family, int vocabSize, int bosTokenId, int... eosTokenIds) {
        return spec(family, vocabSize, bosTokenId, eosTokenIds).writeTo(dir);
    }

    private static final double LOGIT_STD = 2.0;
    private static final double TIED_EMBED_STD = 0.05;
    private static final double SELF_PENALTY = 1.0;

    /** What to write; every setter returns this spec. */
    public static final class Spec {
        private final Family family;
        private final int vocabSize;
        private int bosTokenId;
        private int[] eosTokenIds;
        private int hiddenSize = 64;
        private int layers = 2;
        private int heads = 4;
        private int kvHeads = 2;
        private int intermediateSize = 128;
        private int headDim;
        private int maxPositions = 512;
        private double rmsNormEps = 1e-5;
        private double ropeTheta;
        private int originalMaxPositions = 64;
        private Integer slidingWindow;
        private boolean tied;
        // GEMMA3
        private int slidingWindowPattern = 3;
        private boolean transformers5Layout;
        private int queryPreAttnScalar = 24;
        private Double ropeLinearFactor;
        private Double finalLogitSoftcapping;
        private Double attnLogitSoftcapping;
        // PHI3
        private double partialRotaryFactor = 1.0;
        private Integer longRopeOriginal;
        private DType dtype = DType.F32;
        private int shards = 1;
        private long seed = 42;

        private Spec(Family family, int vocabSize, int bosTokenId, int[] eosTokenIds) {
            if (vocabSize < 1 || bosTokenId >= vocabSize || eosTokenIds.length == 0) {
                throw new IllegalArgumentException("vocabulary " + vocabSize + ", bos " + bosTokenId + ", eos "
                        + Arrays.toString(eosTokenIds) + ": need at least one eos id, all ids inside the vocabulary");
            }
            for (int id : eosTokenIds) {
                if (id < 0 || id >= vocabSize) {
                    throw new IllegalArgumentException("eos id " + id + " outside the vocabulary of " + vocabSize);
                }
            }
            this.family = family;
            this.vocabSize = vocabSize;
            this.bosTokenId = bosTokenId;
            this.eosTokenIds = eosTokenIds.clone();
            this.headDim = family == Family.QWEN3 ? 24 : family == Family.GEMMA3 ? 32 : 0;
            this.ropeTheta = switch (family) {
                case LLAMA, PHI3 -> 10_000.0;
                case LLAMA3 -> 500_000.0;
                case MISTRAL, QWEN2, QWEN3, GEMMA3 -> 1_000_000.0;
            };
            if (family == Family.QWEN2 || family == Family.QWEN3 || family == Family.GEMMA3) {
                rmsNormEps = 1e-6;
            }
            if (family == Family.GEMMA3) {
                hiddenSize = 96;
                layers = 3;
                slidingWindow = 4;
                tied = true;
            }
        }

        public Spec hiddenSize(int v) { hiddenSize = v; return this; }
        public Spec layers(int v) { layers = v; return this; }
        public Spec heads(int v) { heads = v; return this; }
        public Spec kvHeads(int v) { kvHeads = v; return this; }
        public Spec intermediateSize(int v) { intermediateSize = v; return this; }
        /** 0: hidden_size / heads (Qwen3 defaults to 24 to exercise a head_dim of its own). */
        public Spec headDim(int v) { headDim = v; return this; }
        public Spec maxPositions(int v) { maxPositions = v; return this; }
        public Spec rmsNormEps(double v) { rmsNormEps = v; return this; }
        public Spec ropeTheta(double v) { ropeTheta = v; return this; }
        /** LLAMA3 only: the pre-scaling context length of rope_scaling (64 by default). */
        public Spec originalMaxPositions(int v) { originalMaxPositions = v; return this; }
        /** MISTRAL and PHI3: sliding_window (null by default, as Mistral v0.2+ writes); GEMMA3: the local layers' (4). */
        public Spec slidingWindow(Integer v) { slidingWindow = v; return this; }
        /** GEMMA3: every n-th layer is global (3: sliding, sliding, global). */
        public Spec slidingWindowPattern(int v) { slidingWindowPattern = v; return this; }
        /**
         * GEMMA3: config.json as transformers 5 saves it (layer_types, rope_parameters per layer type) instead of
         * Google's published layout (sliding_window_pattern, rope_local_base_freq, rope_scaling).
         */
        public Spec transformers5Layout(boolean v) { transformers5Layout = v; return this; }
        /** GEMMA3: query_pre_attn_scalar (24 by default: hidden / heads, not head_dim). */
        public Spec queryPreAttnScalar(int v) { queryPreAttnScalar = v; return this; }
        /** GEMMA3: linear rope scaling of the global layers (the 4B+ models use 8), null for none. */
        public Spec ropeLinearFactor(Double v) { ropeLinearFactor = v; return this; }
        /** GEMMA3: final_logit_softcapping and attn_logit_softcapping (null for none, as Gemma 3 has them). */
        public Spec softcapping(Double finalLogits, Double attention) {
            finalLogitSoftcapping = finalLogits;
            attnLogitSoftcapping = attention;
            return this;
        }
        /** PHI3: partial_rotary_factor (Phi-4-mini: 0.75). */
        public Spec partialRotaryFactor(double v) { partialRotaryFactor = v; return this; }
        /** PHI3: longrope with this original_max_position_embeddings (null: plain RoPE). */
        public Spec longRope(Integer originalMaxPositions) { longRopeOriginal = originalMaxPositions; return this; }
        /** Ties lm_head to the embeddings: no lm_head.weight is written, as save_pretrained does. */
        public Spec tied(boolean v) { tied = v; return this; }
        /** F32, F16 or BF16; config.json's dtype follows. */
        public Spec dtype(DType v) { dtype = v; return this; }
        /** At least this many weight files plus an index, split as save_pretrained(max_shard_size=total/n). */
        public Spec shards(int v) { shards = v; return this; }
        public Spec seed(long v) { seed = v; return this; }
        public Spec bos(int v) { bosTokenId = v; return this; }
        public Spec eos(int... v) { eosTokenIds = v.clone(); return this; }

        public Family family() {
            return family;
        }

        private int effectiveHeadDim() {
            return headDim > 0 ? headDim : hiddenSize / heads;
        }

        /** Writes config.json, generation_config.json and the weights into {@code dir}; returns {@code dir}. */
        public Path writeTo(Path dir) {
            try {
                Files.createDirectories(dir);
                Files.writeString(dir.resolve("config.json"), PythonJson.dumps(configJson()), StandardCharsets.UTF_8);
                Files.writeString(dir.resolve("generation_config.json"), PythonJson.dumps(generationConfigJson()),
                        StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new SpeculaException(dir + ": cannot write tiny model: " + e.getMessage(), e);
            }
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
            long[] total = {0};
            weights(false).forEach((name, t) -> {
                w.add(name, dtype, t.shape, t.data);
                total[0] += (long) t.data.length * dtype.byteSize();
            });
            long maxShard = shards <= 1 ? Long.MAX_VALUE : (total[0] + shards - 1) / shards;
            w.writeSharded(dir, maxShard);
            return dir;
        }

        /** The rotated dimensions of a head: head_dim times partial_rotary_factor. */
        private int rotaryDim() {
            return (int) (effectiveHeadDim() * partialRotaryFactor);
        }

        /** The config this spec writes, as {@link ModelConfig} reads it. */
        public ModelConfig config() {
            return ModelConfig.parse(Path.of("config.json"),
                    JsonParser.parseString(PythonJson.dumps(configJson())).getAsJsonObject());
        }

        /**
         * The weights as a reader gets them back (already rounded to the spec's dtype), in the order transformers'
         * state dict has them; values are row-major float32 arrays.
         */
        public Map<String, float[]> weights() {
            Map<String, float[]> out = new LinkedHashMap<>();
            weights(true).forEach((name, t) -> out.put(name, t.data));
            return Collections.unmodifiableMap(out);
        }

        /** The shape of each tensor, in state-dict order. */
        public Map<String, long[]> shapes() {
            Map<String, long[]> out = new LinkedHashMap<>();
            weights(false).forEach((name, t) -> out.put(name, t.shape.clone()));
            return Collections.unmodifiableMap(out);
        }

        Map<String, Object> configJson() {
            if (family == Family.GEMMA3) {
                return gemma3ConfigJson();
            }
            if (family == Family.PHI3) {
                return phi3ConfigJson();
            }
            Map<String, Object> c = new TreeMap<>();
            String arch = switch (family) {
                case LLAMA, LLAMA3 -> "LlamaForCausalLM";
                case MISTRAL -> "MistralForCausalLM";
                case QWEN2 -> "Qwen2ForCausalLM";
                case QWEN3 -> "Qwen3ForCausalLM";
                case GEMMA3, PHI3 -> throw new IllegalStateException(family + " has its own config writer");
            };
            c.put("architectures", List.of(arch));
            c.put("model_type", switch (family) {
                case LLAMA, LLAMA3 -> "llama";
                case MISTRAL -> "mistral";
                case QWEN2 -> "qwen2";
                case QWEN3 -> "qwen3";
                case GEMMA3, PHI3 -> throw new IllegalStateException(family + " has its own config writer");
            });
            c.put("attention_dropout", 0.0);
            c.put("bos_token_id", bosTokenId < 0 ? null : bosTokenId);  // transformers writes null when there is no BOS
            c.put("dtype", switch (dtype) {
                case F32 -> "float32";
                case F16 -> "float16";
                case BF16 -> "bfloat16";
                default -> throw new IllegalArgumentException("dtype " + dtype);
            });
            // config.json holds one stop id; several go to generation_config.json, as Llama 3 instruct models do.
            c.put("eos_token_id", eosTokenIds[0]);
            c.put("hidden_act", "silu");
            c.put("hidden_size", hiddenSize);
            c.put("initializer_range", 0.02);
            c.put("intermediate_size", intermediateSize);
            c.put("max_position_embeddings", maxPositions);
            c.put("num_attention_heads", heads);
            c.put("num_hidden_layers", layers);
            c.put("num_key_value_heads", kvHeads);
            c.put("pad_token_id", null);
            c.put("rms_norm_eps", rmsNormEps);
            c.put("rope_parameters", ropeParameters());
            c.put("tie_word_embeddings", tied);
            c.put("transformers_version", TRANSFORMERS_VERSION);
            c.put("use_cache", true);
            c.put("vocab_size", vocabSize);
            switch (family) {
                case LLAMA, LLAMA3 -> {
                    c.put("attention_bias", false);
                    c.put("head_dim", effectiveHeadDim());
                    c.put("mlp_bias", false);
                    c.put("pretraining_tp", 1);
                }
                case MISTRAL -> {
                    c.put("head_dim", effectiveHeadDim());
                    c.put("sliding_window", slidingWindow);
                }
                case QWEN2, QWEN3 -> {
                    if (family == Family.QWEN3) {
                        c.put("attention_bias", false);
                        c.put("head_dim", effectiveHeadDim());
                    } else if (headDim > 0) {
                        c.put("head_dim", headDim);
                    }
                    c.put("layer_types", Collections.nCopies(layers, "full_attention"));
                    c.put("max_window_layers", layers);
                    c.put("sliding_window", null);
                    c.put("use_sliding_window", false);
                }
            }
            return c;
        }

        /** The fields every family writes alike. */
        private Map<String, Object> commonConfig(String architecture, String modelType) {
            Map<String, Object> c = new TreeMap<>();
            c.put("architectures", List.of(architecture));
            c.put("model_type", modelType);
            c.put("attention_dropout", 0.0);
            c.put("bos_token_id", bosTokenId < 0 ? null : bosTokenId);
            c.put("dtype", switch (dtype) {
                case F32 -> "float32";
                case F16 -> "float16";
                case BF16 -> "bfloat16";
                default -> throw new IllegalArgumentException("dtype " + dtype);
            });
            c.put("eos_token_id", eosTokenIds[0]);
            c.put("hidden_size", hiddenSize);
            c.put("initializer_range", 0.02);
            c.put("intermediate_size", intermediateSize);
            c.put("max_position_embeddings", maxPositions);
            c.put("num_attention_heads", heads);
            c.put("num_hidden_layers", layers);
            c.put("num_key_value_heads", kvHeads);
            c.put("rms_norm_eps", rmsNormEps);
            c.put("tie_word_embeddings", tied);
            c.put("transformers_version", TRANSFORMERS_VERSION);
            c.put("use_cache", true);
            c.put("vocab_size", vocabSize);
            return c;
        }

        /**
         * Gemma3TextConfig's fields: Google's published layout (sliding_window_pattern, rope_theta,
         * rope_local_base_freq, rope_scaling) or transformers 5's (layer_types, rope_parameters by layer type).
         */
        private Map<String, Object> gemma3ConfigJson() {
            Map<String, Object> c = commonConfig("Gemma3ForCausalLM", "gemma3_text");
            c.put("attention_bias", false);
            c.put("attn_logit_softcapping", attnLogitSoftcapping);
            c.put("final_logit_softcapping", finalLogitSoftcapping);
            c.put("head_dim", effectiveHeadDim());
            c.put("hidden_activation", "gelu_pytorch_tanh");
            c.put("pad_token_id", 0);
            c.put("query_pre_attn_scalar", queryPreAttnScalar);
            c.put("sliding_window", slidingWindow);
            Map<String, Object> global = new TreeMap<>();
            global.put("rope_type", ropeLinearFactor == null ? "default" : "linear");
            if (ropeLinearFactor != null) {
                global.put("factor", ropeLinearFactor);
            }
            if (transformers5Layout) {
                List<String> types = new ArrayList<>();
                for (int i = 0; i < layers; i++) {
                    types.add((i + 1) % slidingWindowPattern != 0 ? "sliding_attention" : "full_attention");
                }
                c.put("layer_types", types);
                global.put("rope_theta", ropeTheta);
                Map<String, Object> local = new TreeMap<>();
                local.put("rope_theta", 10_000.0);
                local.put("rope_type", "default");
                Map<String, Object> rope = new TreeMap<>();
                rope.put("full_attention", global);
                rope.put("sliding_attention", local);
                c.put("rope_parameters", rope);
                c.put("use_bidirectional_attention", false);
            } else {
                c.put("rope_local_base_freq", 10_000.0);
                c.put("rope_scaling", ropeLinearFactor == null ? null : global);
                c.put("rope_theta", ropeTheta);
                c.put("sliding_window_pattern", slidingWindowPattern);
            }
            return c;
        }

        /**
         * Phi3Config's fields. With longrope: Phi-3-mini-128k's published layout (rope_scaling with short and long
         * factors and a top-level original_max_position_embeddings), or, with transformers5Layout, rope_parameters.
         */
        private Map<String, Object> phi3ConfigJson() {
            Map<String, Object> c = commonConfig("Phi3ForCausalLM", "phi3");
            c.put("embd_pdrop", 0.0);
            c.put("hidden_act", "silu");
            c.put("original_max_position_embeddings", longRopeOriginal == null ? maxPositions : longRopeOriginal);
            c.put("pad_token_id", null);
            if (partialRotaryFactor != 1.0) {
                c.put("partial_rotary_factor", partialRotaryFactor);
            }
            c.put("resid_pdrop", 0.0);
            c.put("sliding_window", slidingWindow);
            Map<String, Object> rope = new TreeMap<>();
            if (longRopeOriginal != null) {
                // Phi-3-mini-128k's shape: short factors near 1, long ones growing with the wavelength.
                List<Double> shortFactor = new ArrayList<>();
                List<Double> longFactor = new ArrayList<>();
                int k = rotaryDim() / 2;
                for (int i = 0; i < k; i++) {
                    shortFactor.add(1.0 + 0.0625 * i);
                    longFactor.add(1.0 + 1.75 * i * i / (double) k);
                }
                rope.put("long_factor", longFactor);
                rope.put("short_factor", shortFactor);
                rope.put("type", "longrope");
            }
            if (transformers5Layout) {
                rope.put("rope_theta", ropeTheta);
                rope.putIfAbsent("type", "default");
                rope.put("rope_type", rope.remove("type"));
                if (partialRotaryFactor != 1.0) {
                    rope.put("partial_rotary_factor", partialRotaryFactor);
                }
                c.put("rope_parameters", rope);
            } else {
                c.put("rope_scaling", rope.isEmpty() ? null : rope);
                c.put("rope_theta", ropeTheta);
            }
            return c;
        }

        private Map<String, Object> ropeParameters() {
            Map<String, Object> r = new TreeMap<>();
            r.put("rope_theta", ropeTheta);
            if (family == Family.LLAMA3) {
                r.put("rope_type", "llama3");
                r.put("factor", 8.0);
                r.put("low_freq_factor", 1.0);
                r.put("high_freq_factor", 4.0);
                r.put("original_max_position_embeddings", originalMaxPositions);
            } else {
                r.put("rope_type", "default");
            }
            return r;
        }

        Map<String, Object> generationConfigJson() {
            Map<String, Object> g = new TreeMap<>();
            if (bosTokenId >= 0) {
                g.put("bos_token_id", bosTokenId);
            }
            List<Integer> eos = new ArrayList<>();
            for (int id : eosTokenIds) {
                eos.add(id);
            }
            g.put("eos_token_id", eos.size() == 1 ? eos.get(0) : eos);
            g.put("transformers_version", TRANSFORMERS_VERSION);
            return g;
        }

        private record Tensor(long[] shape, float[] data) {
        }

        /** Every tensor, in the order of transformers' state dict; {@code rounded}: as stored in the spec's dtype. */
        private Map<String, Tensor> weights(boolean rounded) {
            int d = hiddenSize;
            int q = heads * effectiveHeadDim();
            int kv = kvHeads * effectiveHeadDim();
            int ff = intermediateSize;
            Map<String, Tensor> w = new LinkedHashMap<>();
            if (family == Family.GEMMA3) {
                gemma3Weights(w, d, q, kv, ff);
                if (rounded) {
                    w.replaceAll((name, t) -> new Tensor(t.shape, round(t.data)));
                }
                return w;
            }
            boolean phi3 = family == Family.PHI3;
            // Scales chosen by measuring greedy runs over many seeds (see TinyModelsTest). Untied: the embedding
            // dominates the residual stream (attention adds about half as much context), so the next token is a
            // random function of the current one and the context. Tied: the embeddings are also the output head,
            // and an embedding-dominated state would make tokens predict themselves or each other in pairs; so the
            // embeddings are small, attention adds as little, and the MLPs (a random nonlinear function of the
            // current token) dominate, with a final norm of random sign and a gain that restores the logit spread.
            put(w, "model.embed_tokens.weight", tied ? TIED_EMBED_STD : 1.0, 0, vocabSize, d);
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
                if (phi3) {   // Phi-3 stores q|k|v and gate|up fused, in that row order
                    put(w, p + "self_attn.qkv_proj.weight", 1 / Math.sqrt(d), 0, q + 2 * kv, d);
                    put(w, p + "self_attn.o_proj.weight", (tied ? 0.5 * TIED_EMBED_STD : 0.5) / Math.sqrt(q), 0, d, q);
                    put(w, p + "mlp.gate_up_proj.weight", 1 / Math.sqrt(d), 0, 2 * ff, d);
                    put(w, p + "mlp.down_proj.weight", (tied ? 1.0 : 0.5) / Math.sqrt(ff), 0, d, ff);
                    put(w, p + "input_layernorm.weight", 0.1, 1, d);
                    put(w, p + "post_attention_layernorm.weight", 0.1, 1, d);
                    continue;
                }
                put(w, p + "self_attn.q_proj.weight", 1 / Math.sqrt(d), 0, q, d);
                if (family == Family.QWEN2) {
                    put(w, p + "self_attn.q_proj.bias", 0.2, 0, q);
                }
                put(w, p + "self_attn.k_proj.weight", 1 / Math.sqrt(d), 0, kv, d);
                if (family == Family.QWEN2) {
                    put(w, p + "self_attn.k_proj.bias", 0.2, 0, kv);
                }
                put(w, p + "self_attn.v_proj.weight", 1 / Math.sqrt(d), 0, kv, d);
                if (family == Family.QWEN2) {
                    put(w, p + "self_attn.v_proj.bias", 0.2, 0, kv);
                }
                put(w, p + "self_attn.o_proj.weight", (tied ? 0.5 * TIED_EMBED_STD : 0.5) / Math.sqrt(q), 0, d, q);
                if (family == Family.QWEN3) {
                    put(w, p + "self_attn.q_norm.weight", 0.1, 1, effectiveHeadDim());
                    put(w, p + "self_attn.k_norm.weight", 0.1, 1, effectiveHeadDim());
                }
                put(w, p + "mlp.gate_proj.weight", 1 / Math.sqrt(d), 0, ff, d);
                put(w, p + "mlp.up_proj.weight", 1 / Math.sqrt(d), 0, ff, d);
                put(w, p + "mlp.down_proj.weight", (tied ? 1.0 : 0.5) / Math.sqrt(ff), 0, d, ff);
                put(w, p + "input_layernorm.weight", 0.1, 1, d);
                put(w, p + "post_attention_layernorm.weight", 0.1, 1, d);
            }
            // Logits with a spread of about LOGIT_STD: RMS-normed states times the head's rows.
            double finalGain = tied ? LOGIT_STD / (TIED_EMBED_STD * Math.sqrt(d)) : 1;
            if (tied) {
                // Zero mean: a state with some of the current token's embedding then has no systematic pull to it.
                put(w, "model.norm.weight", finalGain, 0, d);
            } else {
                put(w, "model.norm.weight", 0.1, 1, d);
            }
            if (!tied) {
                put(w, "lm_head.weight", LOGIT_STD / Math.sqrt(d), 0, vocabSize, d);
                // Minus a little of each token's own embedding: the current token's logit is lowered, so greedy
                // decoding does not lock into repeating one token once the context fills with it.
                float[] head = w.get("lm_head.weight").data;
                float[] embed = w.get("model.embed_tokens.weight").data;
                for (int i = 0; i < head.length; i++) {
                    head[i] -= (float) (SELF_PENALTY * LOGIT_STD / d * embed[i]);
                }
            }
            if (rounded) {
                w.replaceAll((name, t) -> new Tensor(t.shape, round(t.data)));
            }
            return w;
        }

        /**
         * Gemma 3's tensors. Its post-norms rescale each branch's output to the norm weights' size, so the scales
         * are set there: attention adds about half as much as the MLP, the embedding (times sqrt(hidden)) about as
         * much as attention, and the final norm has random signs and a gain that gives logits a spread of about 2
         * through the tied head (as for a tied Llama, so tokens do not predict themselves).
         */
        private void gemma3Weights(Map<String, Tensor> w, int d, int q, int kv, int ff) {
            put(w, "model.embed_tokens.weight", TIED_EMBED_STD, 0, vocabSize, d);
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
                put(w, p + "input_layernorm.weight", 0.1, 0, d);
                put(w, p + "self_attn.q_proj.weight", 1 / Math.sqrt(d), 0, q, d);
                put(w, p + "self_attn.k_proj.weight", 1 / Math.sqrt(d), 0, kv, d);
                put(w, p + "self_attn.v_proj.weight", 1 / Math.sqrt(d), 0, kv, d);
                put(w, p + "self_attn.o_proj.weight", 1 / Math.sqrt(q), 0, d, q);
                put(w, p + "self_attn.q_norm.weight", 0.1, 0, effectiveHeadDim());
                put(w, p + "self_attn.k_norm.weight", 0.1, 0, effectiveHeadDim());
                put(w, p + "post_attention_layernorm.weight", 0.1, -0.5, d);
                put(w, p + "pre_feedforward_layernorm.weight", 0.1, 0, d);
                put(w, p + "mlp.gate_proj.weight", 1 / Math.sqrt(d), 0, ff, d);
                put(w, p + "mlp.up_proj.weight", 1 / Math.sqrt(d), 0, ff, d);
                put(w, p + "mlp.down_proj.weight", 1 / Math.sqrt(ff), 0, d, ff);
                put(w, p + "post_feedforward_layernorm.weight", 0.1, 0, d);
            }
            // The factor is 1 + w: mean -1 gives zero-mean factors of random sign.
            put(w, "model.norm.weight", LOGIT_STD / (TIED_EMBED_STD * Math.sqrt(d)), -1, d);
            if (!tied) {
                put(w, "lm_head.weight", LOGIT_STD / Math.sqrt(d), 0, vocabSize, d);
            }
        }

        private void put(Map<String, Tensor> w, String name, double std, double mean, long... shape) {
            long n = 1;
            for (long s : shape) {
                n *= s;
            }
            // Seeded by spec and name only, so a tensor does not change when other tensors are added or removed.
            SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
            float[] data = new float[Math.toIntExact(n)];
            for (int i = 0; i < data.length; i++) {
                data[i] = (float) (mean + std * gaussian(r));
            }
            w.put(name, new Tensor(shape, data));
        }

        /**
         * Box-Muller with StrictMath: the JDK's own nextGaussian algorithm is not specified and has changed between
         * releases, and Math may differ by an ulp between platforms; this gives the same bits everywhere.
         */
        private static double gaussian(SplittableRandom r) {
            double u = 1.0 - r.nextDouble();   // (0, 1]: log stays finite
            double v = r.nextDouble();
            return StrictMath.sqrt(-2 * StrictMath.log(u)) * StrictMath.cos(2 * Math.PI * v);
        }

        private float[] round(float[] data) {
            float[] out = data.clone();
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (dtype) {
                    case F32 -> out[i];
                    case F16 -> HalfFloats.f16ToFloat(HalfFloats.floatToF16(out[i]));
                    case BF16 -> HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(out[i]));
                    default -> throw new IllegalArgumentException("dtype " + dtype);
                };
            }
            return out;
        }
    }
}
