package io.specula.gguf;

import io.specula.SpeculaException;
import io.specula.model.ModelConfig;
import io.specula.model.ModelConfig.Architecture;
import io.specula.model.ModelWeights;
import io.specula.gguf.GgufWriter.TensorType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Converts a Hugging Face model directory of the Llama family to a GGUF file that llama.cpp loads, writing what
 * llama.cpp's {@code convert_hf_to_gguf.py} writes for the same model:
 *
 * <ul>
 *   <li>Llama and Mistral as GGUF architecture {@code llama}: q and k projections permuted from Hugging Face's
 *       rotate-half RoPE layout to the interleaved one llama.cpp's {@code llama} graph rotates (see {@link #permute});
 *       Llama 3 RoPE scaling as a {@code rope_freqs} tensor of frequency divisors.</li>
 *   <li>Qwen2 as {@code qwen2} (q/k/v biases) and Qwen3 as {@code qwen3} (q/k norms): both rotate halves in llama.cpp
 *       too (NEOX RoPE), so nothing is permuted.</li>
 *   <li>The output projection is left out when it is tied to the embeddings; llama.cpp then uses
 *       {@code token_embd}.</li>
 *   <li>With {@link TensorType#F16} or {@link TensorType#BF16}, the matrices are stored as 16-bit floats; norms, biases and {@code rope_freqs} stay
 *       float32, as the converter keeps one-dimensional tensors.</li>
 * </ul>
 *
 * The tokenizer's keys are {@link GgufVocabulary}'s.
 */
public final class GgufExporter {

    private static final Logger log = LoggerFactory.getLogger(GgufExporter.class);

    private GgufExporter() {
    }

    /** Exports {@code modelDir} to {@code out}; returns the writer that was written (for inspection). */
    public static GgufWriter export(Path modelDir, Path out, TensorType type) {
        GgufWriter w = build(modelDir, type);
        w.write(out);
        return w;
    }

    /**
     * Everything the GGUF file will hold, not yet written: metadata and tensors. The tensor arrays are read from the
     * model's safetensors files now.
     */
    public static GgufWriter build(Path modelDir, TensorType type) {
        ModelConfig c = ModelConfig.read(modelDir);
        String arch = switch (c.architecture()) {
            case LLAMA, MISTRAL -> "llama";
            case QWEN2 -> "qwen2";
            case QWEN3 -> "qwen3";
            case GEMMA3, PHI3 -> throw new SpeculaException(modelDir + ": GGUF export of "
                    + c.architecture().className() + " is not implemented (llama.cpp's gemma3 and phi3 tensor layouts)");
        };
        if (c.mlpBias()) {
            throw new SpeculaException(modelDir + ": mlp_bias true has no GGUF tensor names in llama.cpp");
        }
        if (c.architecture() == Architecture.QWEN3 && c.attentionBias()) {
            throw new SpeculaException(modelDir + ": Qwen3 with attention_bias: llama.cpp's qwen3 graph has no biases");
        }
        if (c.slidingWindow() > 0 && c.slidingWindow() < c.maxPositionEmbeddings()) {
            log.warn("{}: sliding_window {} is not written (llama.cpp's {} architecture attends to the whole context; "
                    + "the converter drops it too); outputs differ past {} tokens", modelDir, c.slidingWindow(), arch,
                    c.slidingWindow());
        }
        GgufWriter w = new GgufWriter();
        w.putString("general.architecture", arch);
        w.putString("general.type", "model");
        w.putString("general.name", modelDir.toAbsolutePath().normalize().getFileName().toString());
        w.putUInt32(GgufWriter.ALIGNMENT_KEY, GgufWriter.DEFAULT_ALIGNMENT);
        w.putUInt32(arch + ".block_count", c.numLayers());
        w.putUInt32(arch + ".context_length", c.maxPositionEmbeddings());
        w.putUInt32(arch + ".embedding_length", c.hiddenSize());
        w.putUInt32(arch + ".feed_forward_length", c.intermediateSize());
        w.putUInt32(arch + ".attention.head_count", c.numHeads());
        w.putUInt32(arch + ".attention.head_count_kv", c.numKvHeads());
        w.putFloat32(arch + ".rope.freq_base", (float) c.ropeTheta());
        w.putFloat32(arch + ".attention.layer_norm_rms_epsilon", c.rmsNormEps());
        w.putUInt32(arch + ".attention.key_length", c.headDim());
        w.putUInt32(arch + ".attention.value_length", c.headDim());
        // LlamaFileType ALL_F32 / MOSTLY_F16 / MOSTLY_BF16
        w.putUInt32("general.file_type", switch (type) {
            case F32 -> 0;
            case F16 -> 1;
            case BF16 -> 32;
        });
        if (arch.equals("llama")) {
            w.putUInt32(arch + ".vocab_size", c.vocabSize());
            w.putUInt32(arch + ".rope.dimension_count", c.headDim());
        }
        w.putUInt32("general.quantization_version", 2);
        GgufVocabulary.write(modelDir, c, w);
        tensors(modelDir, c, arch, type, w);
        return w;
    }

    // ---------------------------------------------------------------- tensors

    private static void tensors(Path dir, ModelConfig c, String arch, TensorType type, GgufWriter w) {
        boolean interleave = arch.equals("llama");
        long d = c.hiddenSize();
        long q = c.qDim();
        long kv = c.kvDim();
        long ff = c.intermediateSize();
        long v = c.vocabSize();
        try (ModelWeights weights = ModelWeights.open(dir)) {
            if (c.ropeScaling() != null) {
                w.addTensor("rope_freqs.weight", new long[] {c.headDim() / 2}, TensorType.F32, ropeFreqs(c));
            }
            w.addTensor("token_embd.weight", new long[] {v, d}, type,
                    weights.floats("model.embed_tokens.weight", v, d));
            for (int i = 0; i < c.numLayers(); i++) {
                String hf = "model.layers." + i + ".";
                String b = "blk." + i + ".";
                w.addTensor(b + "attn_norm.weight", new long[] {d}, TensorType.F32,
                        weights.floats(hf + "input_layernorm.weight", d));
                float[] wq = weights.floats(hf + "self_attn.q_proj.weight", q, d);
                float[] wk = weights.floats(hf + "self_attn.k_proj.weight", kv, d);
                if (interleave) {
                    wq = permute(wq, (int) q, (int) d, c.numHeads());
                    wk = permute(wk, (int) kv, (int) d, c.numKvHeads());
                }
                w.addTensor(b + "attn_q.weight", new long[] {q, d}, type, wq);
                w.addTensor(b + "attn_k.weight", new long[] {kv, d}, type, wk);
                w.addTensor(b + "attn_v.weight", new long[] {kv, d}, type,
                        weights.floats(hf + "self_attn.v_proj.weight", kv, d));
                if (c.attentionBias()) {
                    float[] bq = weights.floats(hf + "self_attn.q_proj.bias", q);
                    float[] bk = weights.floats(hf + "self_attn.k_proj.bias", kv);
                    if (interleave) {
                        bq = permute(bq, (int) q, 1, c.numHeads());
                        bk = permute(bk, (int) kv, 1, c.numKvHeads());
                    }
                    w.addTensor(b + "attn_q.bias", new long[] {q}, TensorType.F32, bq);
                    w.addTensor(b + "attn_k.bias", new long[] {kv}, TensorType.F32, bk);
                    w.addTensor(b + "attn_v.bias", new long[] {kv}, TensorType.F32,
                            weights.floats(hf + "self_attn.v_proj.bias", kv));
                }
                if (c.qkNorm()) {
                    w.addTensor(b + "attn_q_norm.weight", new long[] {c.headDim()}, TensorType.F32,
                            weights.floats(hf + "self_attn.q_norm.weight", c.headDim()));
                    w.addTensor(b + "attn_k_norm.weight", new long[] {c.headDim()}, TensorType.F32,
                            weights.floats(hf + "self_attn.k_norm.weight", c.headDim()));
                }
                w.addTensor(b + "attn_output.weight", new long[] {d, q}, type,
                        weights.floats(hf + "self_attn.o_proj.weight", d, q));
                // transformers gives o_proj a bias with attention_bias for Llama (and Qwen3, refused above).
                if (c.attentionBias() && c.architecture() == Architecture.LLAMA) {
                    w.addTensor(b + "attn_output.bias", new long[] {d}, TensorType.F32,
                            weights.floats(hf + "self_attn.o_proj.bias", d));
                }
                w.addTensor(b + "ffn_norm.weight", new long[] {d}, TensorType.F32,
                        weights.floats(hf + "post_attention_layernorm.weight", d));
                w.addTensor(b + "ffn_gate.weight", new long[] {ff, d}, type,
                        weights.floats(hf + "mlp.gate_proj.weight", ff, d));
                w.addTensor(b + "ffn_up.weight", new long[] {ff, d}, type,
                        weights.floats(hf + "mlp.up_proj.weight", ff, d));
                w.addTensor(b + "ffn_down.weight", new long[] {d, ff}, type,
                        weights.floats(hf + "mlp.down_proj.weight", d, ff));
            }
            w.addTensor("output_norm.weight", new long[] {d}, TensorType.F32, weights.floats("model.norm.weight", d));
            // Tied: no output tensor, as the converter writes it (llama.cpp falls back to token_embd). An untied
            // model, or a tied one that still ships its own lm_head, keeps it.
            if (!c.tieWordEmbeddings() || weights.contains("lm_head.weight")) {
                if (c.tieWordEmbeddings()) {
                    log.warn("{}: tie_word_embeddings is true but lm_head.weight is present; writing it", dir);
                }
                w.addTensor("output.weight", new long[] {v, d}, type, weights.floats("lm_head.weight", v, d));
            }
        }
    }

    /**
     * convert_hf_to_gguf.py's {@code LlamaModel.permute}: the rows of a q or k projection (or its bias, cols = 1),
     * viewed as {@code (heads, 2, rows/heads/2, cols)}, with axes 1 and 2 swapped. Hugging Face rotates dimension i of
     * a head with i + headDim/2; llama.cpp's llama graph rotates 2i with 2i+1, so row {@code h*hd + j*half + i} moves to
     * {@code h*hd + 2i + j}.
     */
    public static float[] permute(float[] w, int rows, int cols, int heads) {
        if (rows % (2 * heads) != 0 || (long) rows * cols != w.length) {
            throw new IllegalArgumentException("cannot permute " + rows + "x" + cols + " for " + heads + " heads");
        }
        int hd = rows / heads;
        int half = hd / 2;
        float[] out = new float[w.length];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < 2; j++) {
                for (int i = 0; i < half; i++) {
                    int from = h * hd + j * half + i;
                    int to = h * hd + 2 * i + j;
                    System.arraycopy(w, from * cols, out, to * cols, cols);
                }
            }
        }
        return out;
    }

    /**
     * Llama 3 RoPE scaling as llama.cpp takes it: per frequency, the divisor of the unscaled frequency (1 for short
     * wavelengths, factor for long ones, a smooth ramp in between), computed in float32 as the converter's
     * {@code generate_extra_tensors} does. One difference: the pre-scaling context length comes from the rope scaling
     * parameters (where transformers reads it), not from a top-level {@code original_max_position_embeddings} with a
     * default of 8192 as the converter reads it; for real Llama 3.x configs both are 8192.
     */
    static float[] ropeFreqs(ModelConfig c) {
        ModelConfig.RopeScaling s = c.ropeScaling();
        int dim = c.headDim();
        float[] out = new float[dim / 2];
        float oldContext = s.originalMaxPositionEmbeddings();
        float lowWavelen = oldContext / (float) s.lowFreqFactor();
        float highWavelen = oldContext / (float) s.highFreqFactor();
        for (int i = 0; i < out.length; i++) {
            float freq = (float) (1.0 / Math.pow(c.ropeTheta(), (float) (2 * i) / dim));
            float wavelen = (float) (2 * Math.PI) / freq;
            if (wavelen < highWavelen) {
                out[i] = 1f;
            } else if (wavelen > lowWavelen) {
                out[i] = (float) s.factor();
            } else {
                float smooth = (oldContext / wavelen - (float) s.lowFreqFactor())
                        / (float) (s.highFreqFactor() - s.lowFreqFactor());
                out[i] = 1f / ((1 - smooth) / (float) s.factor() + smooth);
            }
        }
        return out;
    }

    /** Parses "f32" / "f16" / "bf16" (the --type option). */
    public static TensorType parseType(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "f32", "float32" -> TensorType.F32;
            case "f16", "float16" -> TensorType.F16;
            case "bf16", "bfloat16" -> TensorType.BF16;
            default -> throw new SpeculaException("GGUF type '" + s + "': expected f32, f16 or bf16");
        };
    }
}
