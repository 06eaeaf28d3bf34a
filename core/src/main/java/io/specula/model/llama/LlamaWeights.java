package io.specula.model.llama;

import io.specula.model.ModelConfig;
import io.specula.model.TensorSource;

/**
 * The weights of a Llama-family model as float32 arrays, with the projections that read the same input fused into one
 * matrix (q|k|v, and gate|up), so a decoding step makes one pass over each group of weights.
 */
public final class LlamaWeights {

    final float[] embed;        // [vocab][hidden]
    final float[] finalNorm;    // [hidden]
    final float[] lmHead;       // [vocab][hidden]; the same array as embed when tied
    final Layer[] layers;

    /** One decoder layer. Matrices are row-major [out][in], as Hugging Face stores them. */
    static final class Layer {
        float[] attnNorm;       // [hidden]
        float[] qkv;            // [qDim + 2 kvDim][hidden]
        float[] qkvBias;        // [qDim + 2 kvDim] or null
        float[] qNorm;          // [headDim] (Qwen3) or null
        float[] kNorm;          // [headDim] (Qwen3) or null
        float[] o;              // [hidden][qDim]
        float[] oBias;          // [hidden]: Llama and Qwen3 with attention_bias (Qwen2 has none), or null
        float[] mlpNorm;        // [hidden]
        float[] gateUp;         // [2 intermediate][hidden]
        float[] down;           // [hidden][intermediate]
    }

    private LlamaWeights(float[] embed, float[] finalNorm, float[] lmHead, Layer[] layers) {
        this.embed = embed;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = layers;
    }

    /** Reads every tensor a model of this configuration needs, with the Hugging Face names and shapes. */
    public static LlamaWeights load(ModelConfig c, TensorSource source) {
        float[] embed = loadEmbedding(c, source);
        float[] finalNorm = loadFinalNorm(c, source);
        float[] lmHead = loadLmHead(c, source);
        if (lmHead == null) {
            lmHead = embed;
        }
        Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = loadLayer(c, source, i);
        }
        return new LlamaWeights(embed, finalNorm, lmHead, layers);
    }

    static float[] loadEmbedding(ModelConfig c, TensorSource source) {
        return source.floats("model.embed_tokens.weight", c.vocabSize(), c.hiddenSize());
    }

    static float[] loadFinalNorm(ModelConfig c, TensorSource source) {
        return source.floats("model.norm.weight", c.hiddenSize());
    }

    /** The output projection, or {@code null} when it is tied to the embedding and the source has no own copy. */
    static float[] loadLmHead(ModelConfig c, TensorSource source) {
        return c.tieWordEmbeddings() && !source.contains("lm_head.weight")
                ? null : source.floats("lm_head.weight", c.vocabSize(), c.hiddenSize());
    }

    /** Reads decoder layer {@code i}, fusing q|k|v and gate|up; a backend that uploads weights goes layer by layer. */
    static Layer loadLayer(ModelConfig c, TensorSource source, int i) {
        long d = c.hiddenSize();
        long q = c.qDim();
        long kv = c.kvDim();
        long ff = c.intermediateSize();
        String p = "model.layers." + i + ".";
        Layer l = new Layer();
        l.attnNorm = source.floats(p + "input_layernorm.weight", d);
        l.qkv = concat(source.floats(p + "self_attn.q_proj.weight", q, d),
                source.floats(p + "self_attn.k_proj.weight", kv, d),
                source.floats(p + "self_attn.v_proj.weight", kv, d));
        if (c.attentionBias()) {
            l.qkvBias = concat(source.floats(p + "self_attn.q_proj.bias", q),
                    source.floats(p + "self_attn.k_proj.bias", kv),
                    source.floats(p + "self_attn.v_proj.bias", kv));
        }
        if (c.qkNorm()) {
            l.qNorm = source.floats(p + "self_attn.q_norm.weight", c.headDim());
            l.kNorm = source.floats(p + "self_attn.k_norm.weight", c.headDim());
        }
        l.o = source.floats(p + "self_attn.o_proj.weight", d, q);
        // transformers gives o_proj a bias with attention_bias for Llama and Qwen3, never for Qwen2 or Mistral.
        boolean oBias = c.attentionBias() && (c.architecture() == ModelConfig.Architecture.LLAMA
                || c.architecture() == ModelConfig.Architecture.QWEN3);
        if (oBias) {
            l.oBias = source.floats(p + "self_attn.o_proj.bias", d);
        }
        l.mlpNorm = source.floats(p + "post_attention_layernorm.weight", d);
        l.gateUp = concat(source.floats(p + "mlp.gate_proj.weight", ff, d),
                source.floats(p + "mlp.up_proj.weight", ff, d));
        l.down = source.floats(p + "mlp.down_proj.weight", d, ff);
        return l;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
