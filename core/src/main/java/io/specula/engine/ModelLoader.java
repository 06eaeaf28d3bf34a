package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.model.CausalLm;
import io.specula.model.GenerationConfig;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.Quantization;
import io.specula.model.WeightLoader;
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
 * (Vector API when its module is present) with the weights in the checkpoint's precision or quantized
 * ({@link Quantization}), on a CUDA device DJL's PyTorch engine.
 */
public final class ModelLoader {

    private static final Logger log = LoggerFactory.getLogger(ModelLoader.class);

    private ModelLoader() {
    }

    /** {@link #load(Path, String, String, String, Quantization)} with the weights' stored precision. */
    public static LoadedModel load(Path dir, String device, String dtype, String kernel) {
        return load(dir, device, dtype, kernel, Quantization.NONE);
    }

    /** {@link #load(Path, String, String, String, Quantization, int)} for the model's own context length. */
    public static LoadedModel load(Path dir, String device, String dtype, String kernel, Quantization quantization) {
        return load(dir, device, dtype, kernel, quantization, 0);
    }

    /**
     * @param device       "cpu", "cuda", "cuda:N" or "auto"
     * @param dtype        "auto", "float32" or "float16". On the CPU, "auto" keeps the weights in the precision the
     *                     checkpoint stores them in (F16 and BF16 stay 16-bit) and "float32" widens them to float32;
     *                     the arithmetic is float32 either way
     * @param kernel       "auto", "vector", "scalar" or "djl"
     * @param quantization the weights' format on the CPU kernels ({@link Quantization})
     * @param contextLimit the longest sequence the model will serve (the configured context): its RoPE tables are
     *                     sized by it rather than by max_position_embeddings; 0 = the model's own context length
     */
    public static LoadedModel load(Path dir, String device, String dtype, String kernel, Quantization quantization,
                                   int contextLimit) {
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
            CausalLm model = loadNetwork(dir, config, device, dtype, kernel,
                    quantization == null ? Quantization.NONE : quantization, positions);
            return new LoadedModel(dir, dir.getFileName().toString(), config, model, tokenizer,
                    eosIds(config, generation, tokenizer));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    private static CausalLm loadNetwork(Path dir, ModelConfig config, String device, String dtype, String kernel,
                                        Quantization quantization, int positions) {
        String k = kernel == null ? "auto" : kernel.toLowerCase(Locale.ROOT);
        Device dev = DeviceSelection.device(device);
        DataType type = DeviceSelection.dataType(dtype, dev);
        boolean djl = dev.isGpu() || k.equals("djl") || type != DataType.FLOAT32;
        boolean widen = DeviceSelection.isExplicitFloat32(dtype);
        if (quantization != Quantization.NONE && djl) {
            throw new SpeculaException("quantization '" + quantization + "' for " + dir.getFileName() + ": the "
                    + "quantized weights run on the CPU's Java kernels, not on DJL's PyTorch engine (kernel djl or a "
                    + "CUDA device), which loads the F32/F16/BF16 weights as they are: use quantization none there");
        }
        if (quantization != Quantization.NONE && widen) {
            throw new SpeculaException("dtype 'float32' and quantization '" + quantization + "' for "
                    + dir.getFileName() + " ask for two different precisions of the weights: set only one of them");
        }
        try (ModelWeights weights = ModelWeights.open(dir)) {
            if (djl) {
                CausalLm model = DjlLlamaModel.create(config, weights, dev, type, positions);
                log.info("Loaded {} ({}, {} layers, hidden {}) on {} ({}) with DJL's PyTorch engine",
                        dir.getFileName(), config.architecture().className(), config.numLayers(),
                        config.hiddenSize(), dev, type);
                return model;
            }
            MatMul matmul = MatMuls.forName(k);
            HeapCheck.require(dir, weights, quantization, widen);
            long start = System.nanoTime();
            LlamaWeights w = LlamaWeights.load(config, new WeightLoader(weights, quantization, widen));
            LlamaModel model = new LlamaModel(config, w, matmul, MatMuls.opsForName(matmul.name()), positions);
            log.info("Loaded {} ({}, {} layers, hidden {}) on cpu with the Java {} kernel in {} s; weights {}",
                    dir.getFileName(), config.architecture().className(), config.numLayers(), config.hiddenSize(),
                    matmul.name(), String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9),
                    w.summary());
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
