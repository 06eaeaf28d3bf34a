package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.gguf.GgufModel;
import io.specula.gguf.OllamaModels;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.Ops;
import io.specula.model.CausalLm;
import io.specula.model.GenerationConfig;
import io.specula.model.JavaKernelModel;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.Quantization;
import io.specula.model.TensorSource;
import io.specula.model.WeightLoader;
import io.specula.model.gemma3.Gemma3Model;
import io.specula.model.gemma3.Gemma3Weights;
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
import java.util.function.Consumer;

/**
 * Loads a Hugging Face model directory, a GGUF file or an Ollama model ({@code ollama:NAME}) with a compute path chosen
 * once, at load time: on the CPU the Java kernels
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
     * @param dir          a Hugging Face model directory, a GGUF file, or an Ollama model name ({@code ollama:NAME},
     *                     see {@link OllamaModels})
     * @param device       "cpu", "cuda", "cuda:N" or "auto"
     * @param dtype        "auto", "float32" or "float16". On the CPU, "auto" keeps the weights in the precision the
     *                     checkpoint stores them in (F16 and BF16 stay 16-bit, a GGUF file's quantized types stay as
     *                     they are) and "float32" widens them to float32; the arithmetic is float32 either way
     * @param kernel       "auto", "vector", "scalar" or "djl"
     * @param quantization the weights' format on the CPU kernels ({@link Quantization})
     * @param contextLimit the longest sequence the model will serve (the configured context): its RoPE tables are
     *                     sized by it rather than by max_position_embeddings; 0 = the model's own context length
     */
    public static LoadedModel load(Path dir, String device, String dtype, String kernel, Quantization quantization,
                                   int contextLimit) {
        Quantization q = quantization == null ? Quantization.NONE : quantization;
        if (dir != null && OllamaModels.isReference(dir.toString())) {
            String name = dir.toString().trim().substring(OllamaModels.PREFIX.length());
            return loadGguf(OllamaModels.resolve(dir.toString()), name, device, dtype, kernel, q, contextLimit);
        }
        if (dir != null && Files.isRegularFile(dir)) {
            String file = dir.getFileName().toString();
            return loadGguf(dir, file.endsWith(".gguf") ? file.substring(0, file.length() - 5) : file, device, dtype,
                    kernel, q, contextLimit);
        }
        if (dir == null || !Files.isDirectory(dir)) {
            throw new SpeculaException("model '" + dir + "' does not exist (expected a Hugging Face model directory "
                    + "with config.json, *.safetensors and tokenizer.json, a .gguf file, or ollama:NAME for a model "
                    + "Ollama has pulled)");
        }
        ModelConfig config = ModelConfig.read(dir);
        GenerationConfig generation = GenerationConfig.read(dir);
        Tokenizer tokenizer = HfTokenizer.load(dir);
        try (ModelWeights weights = ModelWeights.open(dir)) {
            CausalLm model = loadNetwork(dir, dir.getFileName().toString(), config, weights,
                    widen -> HeapCheck.require(dir, weights, q, widen), device, dtype, kernel, q,
                    positions(config, contextLimit));
            return new LoadedModel(dir, dir.getFileName().toString(), config, model, tokenizer,
                    eosIds(config.eosTokenIds(), generation.eosTokenIds(), tokenizer));
        } catch (RuntimeException e) {
            tokenizer.close();
            throw e;
        }
    }

    /** The RoPE tables' length: the configured context, at most the model's own (0: the model's own). */
    private static int positions(ModelConfig config, int contextLimit) {
        return contextLimit > 0 ? Math.min(contextLimit, config.maxPositionEmbeddings())
                : config.maxPositionEmbeddings();
    }

    /** A GGUF file: hyperparameters, tokenizer and tensors from the file (see {@link GgufModel}). */
    private static LoadedModel loadGguf(Path file, String name, String device, String dtype, String kernel,
                                        Quantization quantization, int contextLimit) {
        try (GgufModel gguf = GgufModel.open(file)) {
            if (name.startsWith("sha256-") && gguf.file().string("general.name") != null) {
                name = gguf.file().string("general.name");   // an Ollama blob resolved elsewhere: the model's name
            }
            ModelConfig config = gguf.config();
            Tokenizer tokenizer = gguf.tokenizer();
            try {
                CausalLm model = loadNetwork(file, name, config, gguf.weights(),
                        widen -> HeapCheck.require(file, gguf.weightBytes(quantization, widen), quantization, widen),
                        device, dtype, kernel, quantization, positions(config, contextLimit));
                return new LoadedModel(file, name, config, model, tokenizer,
                        eosIds(config.eosTokenIds(), gguf.eosIds(), tokenizer));
            } catch (RuntimeException e) {
                tokenizer.close();
                throw e;
            }
        }
    }

    private static CausalLm loadNetwork(Path source, String name, ModelConfig config, TensorSource weights,
                                        Consumer<Boolean> heapCheck, String device, String dtype, String kernel,
                                        Quantization quantization, int positions) {
        String k = kernel == null ? "auto" : kernel.toLowerCase(Locale.ROOT);
        Device dev = DeviceSelection.device(device);
        DataType type = DeviceSelection.dataType(dtype, dev);
        boolean djl = dev.isGpu() || k.equals("djl") || type != DataType.FLOAT32;
        boolean widen = DeviceSelection.isExplicitFloat32(dtype);
        if (quantization != Quantization.NONE && djl) {
            throw new SpeculaException("quantization '" + quantization + "' for " + name + ": the "
                    + "quantized weights run on the CPU's Java kernels, not on DJL's PyTorch engine (kernel djl or a "
                    + "CUDA device), which loads the F32/F16/BF16 weights as they are: use quantization none there");
        }
        if (quantization != Quantization.NONE && widen) {
            throw new SpeculaException("dtype 'float32' and quantization '" + quantization + "' for "
                    + name + " ask for two different precisions of the weights: set only one of them");
        }
        if (djl && config.architecture() == ModelConfig.Architecture.GEMMA3) {
            throw new SpeculaException(name + " (device '" + device + "', kernel '" + k + "', dtype '"
                    + dtype + "'): " + DjlModels.UNSUPPORTED_GEMMA3 + " (spring.ai.specula.device/dtype, the "
                    + "CLI's --device/--kernel)");
        }
        try {
            if (djl) {
                CausalLm model = DjlModels.create(config, weights, dev, type, positions, dev.isGpu()
                        ? "device '" + device + "'" : type != DataType.FLOAT32 ? "dtype '" + dtype + "'" : "kernel 'djl'");
                log.info("Loaded {} ({}, {} layers, hidden {}) on {} ({}) with DJL's PyTorch engine",
                        name, config.architecture().className(), config.numLayers(),
                        config.hiddenSize(), dev, type);
                return model;
            }
            MatMul matmul = MatMuls.forName(k);
            heapCheck.accept(widen);
            long start = System.nanoTime();
            JavaKernelModel model = javaModel(config, new WeightLoader(weights, quantization, widen), matmul, positions);
            log.info("Loaded {} ({}, {} layers, hidden {}) on cpu with the Java {} kernel in {} s; weights {}",
                    name, config.architecture().className(), config.numLayers(), config.hiddenSize(),
                    matmul.name(), String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9),
                    model.weights());
            return model;
        } catch (IllegalArgumentException e) {
            throw new SpeculaException("kernel/dtype for " + source + ": " + e.getMessage(), e);
        }
    }

    /** The Java-kernel model of the configuration's architecture: Gemma 3 has its own, the others are Llama's. */
    public static JavaKernelModel javaModel(ModelConfig config, WeightLoader loader, MatMul matmul) {
        return javaModel(config, loader, matmul, config.maxPositionEmbeddings());
    }

    /** The model for sequences of at most {@code positions} (the configured context): RoPE tables sized by it. */
    public static JavaKernelModel javaModel(ModelConfig config, WeightLoader loader, MatMul matmul, int positions) {
        Ops ops = MatMuls.opsForName(matmul.name());
        if (config.architecture() == ModelConfig.Architecture.GEMMA3) {
            return new Gemma3Model(config, Gemma3Weights.load(config, loader), matmul, ops, positions);
        }
        return new LlamaModel(config, LlamaWeights.load(config, loader), matmul, ops, positions);
    }

    /**
     * generation_config.json's ids first (transformers' generate uses them; for a GGUF file, the ids llama.cpp stops
     * at), then config.json's and the tokenizer's.
     */
    private static List<Integer> eosIds(List<Integer> config, List<Integer> generation, Tokenizer tokenizer) {
        Set<Integer> ids = new LinkedHashSet<>(generation);
        ids.addAll(config);
        ids.addAll(tokenizer.eosIds());
        return List.copyOf(ids);
    }
}
