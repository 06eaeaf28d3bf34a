package io.specula.model.gemma3;

import io.specula.kernel.WeightMatrix;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.model.TensorSource;
import io.specula.model.TensorSource.Part;
import io.specula.model.WeightLoader;
import io.specula.model.WeightsSummary;

/**
 * The weights of a Gemma 3 text model, with the Hugging Face tensor names of {@code Gemma3ForCausalLM} (all of them
 * are here; another file format hands its tensors over under these names). Matrices are {@link WeightMatrix} in the
 * checkpoint's precision or the chosen {@link Quantization}, q|k|v and gate|up fused as for the Llama family.
 *
 * <p>Gemma's RMSNorm multiplies by {@code (1 + weight)}, computed in float32 (transformers' Gemma3RMSNorm:
 * {@code output * (1.0 + self.weight.float())}); the norms are stored here with the 1 already added, the same float32
 * sum, so the model applies them as plain RMSNorm weights. llama.cpp's converter adds the same float32 1 into its
 * GGUF files ({@link TensorSource#gemmaNormsIncludeOne}): their norms are taken as they are.
 */
public final class Gemma3Weights {

    final WeightMatrix embed;   // [vocab][hidden]; also the output head (Gemma 3 ties them)
    final float[] finalNorm;    // [hidden], 1 + w
    final WeightMatrix lmHead;  // [vocab][hidden]; the same matrix as embed when tied
    final Layer[] layers;
    private final WeightsSummary summary;

    /** One decoder layer; matrices are [out][in] as Hugging Face stores them, norms hold 1 + w. */
    static final class Layer {
        float[] inputNorm;      // input_layernorm [hidden]: before attention
        WeightMatrix qkv;       // [qDim + 2 kvDim][hidden]
        float[] qkvBias;        // [qDim + 2 kvDim] with attention_bias, else null
        float[] qNorm;          // [headDim]
        float[] kNorm;          // [headDim]
        WeightMatrix o;         // [hidden][qDim]
        float[] oBias;          // [hidden] with attention_bias, else null
        float[] postAttnNorm;   // post_attention_layernorm [hidden]: on the attention output, before the residual
        float[] preMlpNorm;     // pre_feedforward_layernorm [hidden]: before the MLP
        WeightMatrix gateUp;    // [2 intermediate][hidden]
        WeightMatrix down;      // [hidden][intermediate]
        float[] postMlpNorm;    // post_feedforward_layernorm [hidden]: on the MLP output, before the residual
    }

    private Gemma3Weights(WeightMatrix embed, float[] finalNorm, WeightMatrix lmHead, Layer[] layers,
                          WeightsSummary summary) {
        this.embed = embed;
        this.finalNorm = finalNorm;
        this.lmHead = lmHead;
        this.layers = layers;
        this.summary = summary;
    }

    /** Reads every tensor in the precision it is stored in. */
    public static Gemma3Weights load(ModelConfig c, TensorSource source) {
        return load(c, new WeightLoader(source, Quantization.NONE, false));
    }

    public static Gemma3Weights load(ModelConfig c, WeightLoader loader) {
        int d = c.hiddenSize();
        boolean tied = c.tieWordEmbeddings() && !loader.source().contains("lm_head.weight");
        WeightMatrix embed = loader.matrix(tied ? Quantization.Role.TIED_EMBEDDING : Quantization.Role.EMBEDDING, d,
                new Part("model.embed_tokens.weight", c.vocabSize()));
        WeightMatrix lmHead = tied ? embed
                : loader.matrix(Quantization.Role.OUTPUT, d, new Part("lm_head.weight", c.vocabSize()));
        float[] finalNorm = norm(loader, "model.norm.weight", d);
        Layer[] layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            layers[i] = loadLayer(c, loader, i);
        }
        return new Gemma3Weights(embed, finalNorm, lmHead, layers, loader.summary());
    }

    public WeightsSummary summary() {
        return summary;
    }

    private static Layer loadLayer(ModelConfig c, WeightLoader loader, int i) {
        int d = c.hiddenSize();
        int q = c.qDim();
        int kv = c.kvDim();
        int ff = c.intermediateSize();
        String p = "model.layers." + i + ".";
        Layer l = new Layer();
        l.inputNorm = norm(loader, p + "input_layernorm.weight", d);
        l.qkv = loader.matrix(Quantization.Role.LAYER, d, new Part(p + "self_attn.q_proj.weight", q),
                new Part(p + "self_attn.k_proj.weight", kv), new Part(p + "self_attn.v_proj.weight", kv));
        l.qNorm = norm(loader, p + "self_attn.q_norm.weight", c.headDim());
        l.kNorm = norm(loader, p + "self_attn.k_norm.weight", c.headDim());
        l.o = loader.matrix(Quantization.Role.LAYER, q, new Part(p + "self_attn.o_proj.weight", d));
        if (c.attentionBias()) {   // Gemma3Attention gives q, k, v and o a bias together
            float[] qb = loader.floats(p + "self_attn.q_proj.bias", q);
            float[] kb = loader.floats(p + "self_attn.k_proj.bias", kv);
            float[] vb = loader.floats(p + "self_attn.v_proj.bias", kv);
            l.qkvBias = new float[q + 2 * kv];
            System.arraycopy(qb, 0, l.qkvBias, 0, q);
            System.arraycopy(kb, 0, l.qkvBias, q, kv);
            System.arraycopy(vb, 0, l.qkvBias, q + kv, kv);
            l.oBias = loader.floats(p + "self_attn.o_proj.bias", d);
        }
        l.postAttnNorm = norm(loader, p + "post_attention_layernorm.weight", d);
        l.preMlpNorm = norm(loader, p + "pre_feedforward_layernorm.weight", d);
        l.gateUp = loader.matrix(Quantization.Role.LAYER, d, new Part(p + "mlp.gate_proj.weight", ff),
                new Part(p + "mlp.up_proj.weight", ff));
        l.down = loader.matrix(Quantization.Role.LAYER, ff, new Part(p + "mlp.down_proj.weight", d));
        l.postMlpNorm = norm(loader, p + "post_feedforward_layernorm.weight", d);
        return l;
    }

    /** A Gemma RMSNorm weight as the factor it multiplies by: {@code 1 + w}, in float32 as transformers. */
    private static float[] norm(WeightLoader loader, String name, int n) {
        if (loader.source().gemmaNormsIncludeOne()) {
            return loader.floats(name, n);
        }
        float[] w = loader.floats(name, n).clone();   // a source may hand out its own array
        for (int i = 0; i < w.length; i++) {
            w[i] = 1f + w[i];
        }
        return w;
    }
}
