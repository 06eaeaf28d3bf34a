package io.specula.gguf;

import io.specula.testing.TinyModels;
import io.specula.testing.TinyModels.Family;

import java.nio.file.Path;

/**
 * Writes the config.json and safetensors of a tiny random model (hidden 64, one layer) with a real tokenizer's
 * vocabulary size, next to that tokenizer's files, for llama.cpp's converter: started by
 * {@code scripts/make-real-tokenizer-ggufs.sh} (see {@link RealTokenizerGgufTest}).
 *
 * <pre>
 *   java -cp ... io.specula.gguf.RealTokenizerModels DIR llama3|qwen3
 * </pre>
 */
public final class RealTokenizerModels {

    private RealTokenizerModels() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        TinyModels.Spec spec = switch (args[1]) {
            // Llama 3's vocabulary: 128000 BPE tokens and 256 specials; <|begin_of_text|>, <|end_of_text|>, <|eot_id|>
            case "llama3" -> TinyModels.spec(Family.LLAMA3, 128256, 128000, 128001, 128009);
            // Qwen3's embedding rows (151936, padded); no BOS, <|im_end|> and <|endoftext|>
            case "qwen3" -> TinyModels.spec(Family.QWEN3, 151936, -1, 151645, 151643);
            default -> throw new IllegalArgumentException("llama3 or qwen3, not " + args[1]);
        };
        spec.layers(1).tied(true).dtype(io.specula.model.safetensors.DType.BF16).seed(7).writeTo(dir);
    }
}
