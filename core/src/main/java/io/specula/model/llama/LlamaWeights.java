package io.specula.model.llama;

import io.specula.kernel.WeightMatrix;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.model.TensorSource;
import io.specula.model.TensorSource.Part;
import io.specula.model.WeightLoader;
import io.specula.model.WeightsSummary;

/**
 * The weights of a Llama-family model: the matrices as {@link WeightMatrix} in the precision of the checkpoint or of
 * the chosen {@link Quantization}, norms and biases as float32. The projections that read the same input are fused
 * into one matrix (q|k|v, and gate|up), so a decoding step makes one pass over each group of weights; Phi-3 stores
 * them fused already ({@code qkv_proj}, {@code gate_up_proj}, in the same row order).
 *
 * <p>The Hugging Face tensor names of the Llama family and Phi-3 are all here ({@link #loadLayer} and the loaders
 * above it); another file format (GGUF) hands its tensors to these loaders under these names.
 */
public final class LlamaWeights {

    final WeightMatrix embed;   // [vocab][hidden]
    final float[] finalNorm;    // [hidden]
    final WeightMatrix lmHead;  // [vocab][hidden]; the same matrix as embed when tied
    final Layer[] layers;
    private final WeightsSummary summary;

    /** One decoder layer. Matrices are [out][in], as Hugging Face stores them. */
    static final class Layer {
        float[] attnNorm;       // [hidden]
        WeightMatrix qkv;       // [qDim + 2 kvDim][hidden]
        float[] qkvBias;        // [qDim + 2 kvDim] or null
        float[] qNorm;          // [headDim] (Qwen3) or null
        float[] kNorm;          // [headDim] (Qwen3) or null
        WeightMatrix o;         // [hidden][qDim]
        float[] oBias;          // [hidden]: Llama and Qwen3 with attention_bias (Qwen2 has none), or null
        float[] mlpNorm;        // [hidden]
        WeightMatrix gateUp;    // [2 intermediate][hidden]
        WeightMatrix down;      // [hidden][intermediate]
    }

    private LlamaWeights(WeightMatrix embed, float[] finalNorm, WeightMatrix lmHead, Layer[] layers,
                         WeightsSummary summary) {
        this.embed = embed;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = layers;
        this.summary = summary;
    }

    /** Reads every tensor a model of this configuration needs, in the precision it is stored in. */
    public static LlamaWeights load(ModelConfig c, TensorSource source) {
        return load(c, new WeightLoader(source, Quantization.NONE, false));
    }

    /** Reads every tensor a model of this configuration needs, with the Hugging Face names and shapes. */
    public static LlamaWeights load(ModelConfig c, WeightLoader loader) {
        boolean tied = c.tieWordEmbeddings() && !loader.source().contains("lm_head.weight");
        WeightMatrix embed = loadEmbedding(c, loader, tied);
        float[] finalNorm = loadFinalNorm(c, loader);
        WeightMatrix lmHead = tied ? embed : loadLmHead(c, loader);
        Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = loadLayer(c, loader, i);
        }
        return new LlamaWeights(embed, finalNorm, lmHead, layers, loader.summary());
    }

    /** What the weights take in memory and how long reading and quantizing took. */
    public WeightsSummary summary() {
        return summary;
    }

    /** Whether the output head and the embedding are one matrix. */
    public boolean tied() {
        return lmHead == embed;
    }

    static WeightMatrix loadEmbedding(ModelConfig c, WeightLoader loader, boolean tied) {
        return loader.matrix(tied ? Quantization.Role.TIED_EMBEDDING : Quantization.Role.EMBEDDING, c.hiddenSize(),
                new Part("model.embed_tokens.weight", c.vocabSize()));
    }

    static float[] loadFinalNorm(ModelConfig c, WeightLoader loader) {
        return loader.floats("model.norm.weight", c.hiddenSize());
    }

    /** The output projection, when it is its own tensor. */
    static WeightMatrix loadLmHead(ModelConfig c, WeightLoader loader) {
        return loader.matrix(Quantization.Role.OUTPUT, c.hiddenSize(), new Part("lm_head.weight", c.vocabSize()));
    }

    /** Reads decoder layer {@code i}, fusing q|k|v and gate|up; a backend that uploads weights goes layer by layer. */
    static Layer loadLayer(ModelConfig c, WeightLoader loader, int i) {
        int d = c.hiddenSize();
        int q = c.qDim();
        int kv = c.kvDim();
        int ff = c.intermediateSize();
        String p = "model.layers." + i + ".";
        Layer l = new Layer();
        boolean phi3 = c.architecture() == ModelConfig.Architecture.PHI3;
        l.attnNorm = loader.floats(p + "input_layernorm.weight", d);
        l.qkv = phi3 ? loader.matrix(Quantization.Role.LAYER, d, new Part(p + "self_attn.qkv_proj.weight", q + 2 * kv))
                : loader.matrix(Quantization.Role.LAYER, d, new Part(p + "self_attn.q_proj.weight", q),
                        new Part(p + "self_attn.k_proj.weight", kv), new Part(p + "self_attn.v_proj.weight", kv));
        if (c.attentionBias()) {
            l.qkvBias = concat(loader.floats(p + "self_attn.q_proj.bias", q),
                    loader.floats(p + "self_attn.k_proj.bias", kv),
                    loader.floats(p + "self_attn.v_proj.bias", kv));
        }
        if (c.qkNorm()) {
            l.qNorm = loader.floats(p + "self_attn.q_norm.weight", c.headDim());
            l.kNorm = loader.floats(p + "self_attn.k_norm.weight", c.headDim());
        }
        l.o = loader.matrix(Quantization.Role.LAYER, q, new Part(p + "self_attn.o_proj.weight", d));
        // transformers gives o_proj a bias with attention_bias for Llama and Qwen3, never for Qwen2 or Mistral.
        boolean oBias = c.attentionBias() && (c.architecture() == ModelConfig.Architecture.LLAMA
                || c.architecture() == ModelConfig.Architecture.QWEN3);
        if (oBias) {
            l.oBias = loader.floats(p + "self_attn.o_proj.bias", d);
        }
        l.mlpNorm = loader.floats(p + "post_attention_layernorm.weight", d);
        // Phi-3's gate_up_proj is chunk(2): gate rows first, then up, as fused here for the others.
        l.gateUp = phi3 ? loader.matrix(Quantization.Role.LAYER, d, new Part(p + "mlp.gate_up_proj.weight", 2 * ff))
                : loader.matrix(Quantization.Role.LAYER, d, new Part(p + "mlp.gate_proj.weight", ff),
                        new Part(p + "mlp.up_proj.weight", ff));
        l.down = loader.matrix(Quantization.Role.LAYER, ff, new Part(p + "mlp.down_proj.weight", d));
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
