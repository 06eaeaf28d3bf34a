package io.specula.gguf;

import io.specula.gguf.GgufFile.Tensor;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.tokenizer.HfTokenizer;

import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A GGUF model file opened for loading: its header validated, its hyperparameters ({@link GgufConfig}), its tensors
 * under the Hugging Face names ({@link GgufWeights}) and its tokenizer ({@link GgufTokenizer}). Every tensor type is
 * checked when the file is opened, so an unsupported one fails at start-up, before any weight is read.
 */
public final class GgufModel implements AutoCloseable {

    private final GgufFile file;
    private final ModelConfig config;
    private final GgufWeights weights;

    private GgufModel(GgufFile file, ModelConfig config, GgufWeights weights) {
        this.file = file;
        this.config = config;
        this.weights = weights;
    }

    public static GgufModel open(Path path) {
        GgufFile file = GgufFile.open(path);
        try {
            ModelConfig config = GgufConfig.read(file);
            GgufWeights.checkTypes(file);
            boolean unpermute = "llama".equals(file.string("general.architecture"));
            return new GgufModel(file, config, new GgufWeights(file, unpermute, config.numHeads(),
                    config.numKvHeads()));
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    public GgufFile file() {
        return file;
    }

    public ModelConfig config() {
        return config;
    }

    /** The tensors, under the Hugging Face names {@link io.specula.model.llama.LlamaWeights} reads. */
    public GgufWeights weights() {
        return weights;
    }

    /** The tokenizer: tokenizer.json next to the file if there is one, else the file's metadata. */
    public HfTokenizer tokenizer() {
        return GgufTokenizer.load(file);
    }

    /** End-of-sequence ids: the metadata's EOS and those llama.cpp stops at ({@link GgufTokenizer#endOfGeneration}). */
    public List<Integer> eosIds() {
        Set<Integer> ids = new LinkedHashSet<>(config.eosTokenIds());
        ids.addAll(GgufTokenizer.endOfGeneration(file));
        return List.copyOf(ids);
    }

    /**
     * Bytes of the weights once loaded: the file's types as the weight formats hold them (Q4_K 0.75 bytes per weight,
     * Q6_K 1.25, Q8_0 and Q5_0 1.125, 16-bit 2), widened to float32 or quantized at load as asked. For the heap check
     * before loading.
     */
    public long weightBytes(Quantization quantization, boolean float32) {
        double total = 0;
        for (Tensor t : file.tensors().values()) {
            long n = t.elements();
            boolean matrix = t.ne().length == 2;
            if (!matrix || float32) {
                total += 4.0 * n;
            } else if (quantization != null && quantization != Quantization.NONE) {
                boolean head = t.name().startsWith("token_embd") || t.name().startsWith("output.");
                boolean q4 = quantization == Quantization.Q4_0 || quantization == Quantization.Q4_1;
                total += n * (q4 && !head ? 0.75 : 1.125);
            } else {
                total += n * switch (t.type()) {
                    case F32 -> 4.0;
                    case F16, BF16 -> 2.0;
                    case Q8_0, Q5_0 -> 1.125;
                    case Q6_K -> 1.25;
                    case Q4_0, Q4_1, Q4_K -> 0.75;
                    default -> 4.0;
                };
            }
        }
        return (long) total;
    }

    @Override
    public void close() {
        file.close();
    }
}
