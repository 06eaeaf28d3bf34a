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
        QWEN3
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
            this.headDim = family == Family.QWEN3 ? 24 : 0;
            this.ropeTheta = switch (family) {
                case LLAMA -> 10_000.0;
                case LLAMA3 -> 500_000.0;
                case MISTRAL, QWEN2, QWEN3 -> 1_000_000.0;
            };
            if (family == Family.QWEN2 || family == Family.QWEN3) {
                rmsNormEps = 1e-6;
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
        /** MISTRAL only: sliding_window (null by default, as Mistral v0.2+ writes). */
        public Spec slidingWindow(Integer v) { slidingWindow = v; return this; }
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
            Map<String, Object> c = new TreeMap<>();
            String arch = switch (family) {
                case LLAMA, LLAMA3 -> "LlamaForCausalLM";
                case MISTRAL -> "MistralForCausalLM";
                case QWEN2 -> "Qwen2ForCausalLM";
                case QWEN3 -> "Qwen3ForCausalLM";
            };
            c.put("architectures", List.of(arch));
            c.put("model_type", switch (family) {
                case LLAMA, LLAMA3 -> "llama";
                case MISTRAL -> "mistral";
                case QWEN2 -> "qwen2";
                case QWEN3 -> "qwen3";
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
            // Scales chosen by measuring greedy runs over many seeds (see TinyModelsTest). Untied: the embedding
            // dominates the residual stream (attention adds about half as much context), so the next token is a
            // random function of the current one and the context. Tied: the embeddings are also the output head,
            // and an embedding-dominated state would make tokens predict themselves or each other in pairs; so the
            // embeddings are small, attention adds as little, and the MLPs (a random nonlinear function of the
            // current token) dominate, with a final norm of random sign and a gain that restores the logit spread.
            put(w, "model.embed_tokens.weight", tied ? TIED_EMBED_STD : 1.0, 0, vocabSize, d);
            for (int l = 0; l < layers; l++) {
                String p = "model.layers." + l + ".";
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
