package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.model.CausalLm;
import io.specula.model.GenerationConfig;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.model.llama.LlamaModel;
import io.specula.model.llama.LlamaWeights;
import io.specula.tokenizer.HfTokenizer;
import io.specula.tokenizer.Tokenizer;
import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Loads a Hugging Face model directory with a compute path chosen once, at load time: on the CPU the Java kernels
 * (Vector API when its module is present), on a CUDA device DJL's PyTorch engine.
 */
public final class ModelLoader {

    private static final Logger log = LoggerFactory.getLogger(ModelLoader.class);

    private ModelLoader() {
    }

    /**
     * @param device "cpu", "cuda", "cuda:N" or "auto"
     * @param dtype  "auto", "float32" or "float16"
     * @param kernel "auto", "vector", "scalar" or "djl"
     */
    public static LoadedModel load(Path dir, String device, String dtype, String kernel) {
        return load(dir, device, dtype, kernel, 0);
    }

    /**
     * @param contextLimit the longest sequence the model will serve (the configured context): its RoPE tables are sized
     *                     by it rather than by max_position_embeddings; 0 = the model's own context length
     */
    public static LoadedModel load(Path dir, String device, String dtype, String kernel, int contextLimit) {
        if (dir == null || !Files.isDirectory(dir)) {
            throw new SpeculaException("model directory '" + dir + "' does not exist or is not a directory "
                    + "(expected a Hugging Face layout: config.json, *.safetensors, tokenizer.json)");
        }
        ModelConfig config = ModelConfig.read(dir);
        GenerationConfig generation = GenerationConfig.read(dir);
        Tokenizer tokenizer = HfTokenizer.load(dir);
        try {
            int positions = contextLimit > 0 ? Math.min(contextLimit, config.maxPositionEmbeddings())
                    : config.maxPositionEmbeddings();
            CausalLm model = loadNetwork(dir, config, device, dtype, kernel, positions);
            return new LoadedModel(dir, dir.getFileName().toString(), config, model, tokenizer,
                    eosIds(config, generation, tokenizer));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    private static CausalLm loadNetwork(Path dir, ModelConfig config, String device, String dtype, String kernel,
                                        int positions) {
        String k = kernel == null ? "auto" : kernel.toLowerCase(Locale.ROOT);
        Device dev = DeviceSelection.device(device);
        DataType type = DeviceSelection.dataType(dtype, dev);
        boolean djl = dev.isGpu() || k.equals("djl") || type != DataType.FLOAT32;
        try (ModelWeights weights = ModelWeights.open(dir)) {
            if (djl) {
                CausalLm model = DjlLlamaModel.create(config, weights, dev, type, positions);
                log.info("Loaded {} ({}, {} layers, hidden {}) on {} ({}) with DJL's PyTorch engine",
                        dir.getFileName(), config.architecture().className(), config.numLayers(),
                        config.hiddenSize(), dev, type);
                return model;
            }
            MatMul matmul = MatMuls.forName(k);
            LlamaModel model = new LlamaModel(config, LlamaWeights.load(config, weights), matmul,
                    MatMuls.opsForName(matmul.name()), positions);
            log.info("Loaded {} ({}, {} layers, hidden {}) on cpu with the Java {} kernel", dir.getFileName(),
                    config.architecture().className(), config.numLayers(), config.hiddenSize(), matmul.name());
            return model;
        } catch (IllegalArgumentException e) {
            throw new SpeculaException("kernel/dtype for " + dir + ": " + e.getMessage(), e);
        }
    }

    /** generation_config.json's ids first (transformers' generate uses them), then config.json's and the tokenizer's. */
    private static List<Integer> eosIds(ModelConfig config, GenerationConfig generation, Tokenizer tokenizer) {
        Set<Integer> ids = new LinkedHashSet<>(generation.eosTokenIds());
        ids.addAll(config.eosTokenIds());
        ids.addAll(tokenizer.eosIds());
        return List.copyOf(ids);
    }
}
