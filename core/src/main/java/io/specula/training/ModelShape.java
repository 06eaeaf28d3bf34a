package io.specula.training;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.specula.model.ModelConfig;

import java.nio.file.Path;

/**
 * The hyperparameters of a Llama model to train: what config.json says about its shape. Grouped-query attention
 * when {@code numKvHeads < numHeads}; tied input and output embeddings when {@code tieWordEmbeddings}.
 */
public record ModelShape(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int numLayers,
        int numHeads,
        int numKvHeads,
        int headDim,
        int maxPositions,
        double ropeTheta,
        float rmsNormEps,
        boolean tieWordEmbeddings) {

    public ModelShape {
        if (vocabSize < 1 || hiddenSize < 1 || intermediateSize < 1 || numLayers < 1 || numHeads < 1
                || numKvHeads < 1 || headDim < 2 || maxPositions < 2) {
            throw new IllegalArgumentException("every size must be positive: " + this);
        }
        if (numHeads % numKvHeads != 0) {
            throw new IllegalArgumentException(numKvHeads + " key/value heads do not divide " + numHeads + " heads");
        }
        if (headDim % 2 != 0) {
            throw new IllegalArgumentException("head dimension " + headDim + " must be even for rotary embeddings");
        }
    }

    /** A Llama shape with head_dim = hidden / heads and the defaults used for the sample models. */
    public static ModelShape llama(int vocabSize, int hiddenSize, int intermediateSize, int numLayers, int numHeads,
                                   int numKvHeads, int maxPositions) {
        if (hiddenSize % numHeads != 0) {
            throw new IllegalArgumentException(numHeads + " heads do not divide hidden size " + hiddenSize);
        }
        return new ModelShape(vocabSize, hiddenSize, intermediateSize, numLayers, numHeads, numKvHeads,
                hiddenSize / numHeads, maxPositions, 10000.0, 1e-5f, true);
    }

    public int qDim() {
        return numHeads * headDim;
    }

    public int kvDim() {
        return numKvHeads * headDim;
    }

    /** Weights per decoder layer. */
    public long layerParameters() {
        long d = hiddenSize;
        return 2 * d + d * qDim() + 2 * d * kvDim() + (long) qDim() * d + 3 * d * intermediateSize;
    }

    public long parameterCount() {
        long embed = (long) vocabSize * hiddenSize;
        return embed * (tieWordEmbeddings ? 1 : 2) + hiddenSize + numLayers * layerParameters();
    }

    /**
     * Multiply-adds per token of one forward pass at context length {@code context}: every weight once, plus
     * attention over the context (q·k and p·v). The cost of decoding one token.
     */
    public long macsPerToken(int context) {
        long weights = numLayers * (layerParameters() - 2L * hiddenSize) + (long) vocabSize * hiddenSize;
        return weights + 2L * numLayers * qDim() * context;
    }

    /** config.json in the Hugging Face layout, as transformers and {@link ModelConfig} read it. */
    public JsonObject configJson(String torchDtype, int bosId, int eosId) {
        JsonObject c = new JsonObject();
        JsonArray arch = new JsonArray();
        arch.add("LlamaForCausalLM");
        c.add("architectures", arch);
        c.addProperty("model_type", "llama");
        c.addProperty("vocab_size", vocabSize);
        c.addProperty("hidden_size", hiddenSize);
        c.addProperty("intermediate_size", intermediateSize);
        c.addProperty("num_hidden_layers", numLayers);
        c.addProperty("num_attention_heads", numHeads);
        c.addProperty("num_key_value_heads", numKvHeads);
        c.addProperty("head_dim", headDim);
        c.addProperty("hidden_act", "silu");
        c.addProperty("max_position_embeddings", maxPositions);
        c.addProperty("initializer_range", 0.02);
        c.addProperty("rms_norm_eps", rmsNormEps);
        c.addProperty("rope_theta", ropeTheta);
        c.add("rope_scaling", com.google.gson.JsonNull.INSTANCE);
        c.addProperty("attention_bias", false);
        c.addProperty("attention_dropout", 0.0);
        c.addProperty("mlp_bias", false);
        c.addProperty("pretraining_tp", 1);
        c.addProperty("tie_word_embeddings", tieWordEmbeddings);
        c.addProperty("use_cache", true);
        c.addProperty("torch_dtype", torchDtype);
        c.addProperty("bos_token_id", bosId);
        c.addProperty("eos_token_id", eosId);
        return c;
    }

    public ModelConfig toModelConfig() {
        return ModelConfig.parse(Path.of("config.json"), configJson("float32", 1, 2));
    }

    /** The shape of a model read from its config.json (only plain Llama models can be trained further). */
    public static ModelShape of(ModelConfig c) {
        if (c.architecture() != ModelConfig.Architecture.LLAMA || c.ropeScaling() != null || c.attentionBias()
                || c.mlpBias() || c.slidingWindow() > 0) {
            throw new IllegalArgumentException("only plain LlamaForCausalLM models (no rope scaling, biases or"
                    + " sliding window) can be used for training, not " + c.architecture().className());
        }
        return new ModelShape(c.vocabSize(), c.hiddenSize(), c.intermediateSize(), c.numLayers(), c.numHeads(),
                c.numKvHeads(), c.headDim(), c.maxPositionEmbeddings(), c.ropeTheta(), c.rmsNormEps(),
                c.tieWordEmbeddings());
    }
}
