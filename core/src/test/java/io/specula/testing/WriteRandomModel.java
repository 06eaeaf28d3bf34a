package io.specula.testing;

import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Writes a random Llama model directory of a given size, for benchmarks ({@code generate --bench}, {@code bench}):
 * {@code WriteRandomModel DIR LAYERS HIDDEN [SEED [TOKENIZER_DIR VOCAB]]}. Heads of 64 dimensions, half as many KV
 * heads, MLP 2.75x. With a tokenizer directory, its tokenizer files are copied and the model gets that vocabulary:
 * a drafter that shares the target's tokenizer but knows nothing (the "nearly always wrong" drafter).
 */
public final class WriteRandomModel {

    private WriteRandomModel() {
    }

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        int layers = Integer.parseInt(args[1]);
        int hidden = Integer.parseInt(args[2]);
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 1;
        int heads = Math.max(1, hidden / 64);
        java.util.function.UnaryOperator<TinyModels.Spec> shape = s -> s.layers(layers).hiddenSize(hidden)
                .heads(heads).kvHeads(Math.max(1, heads / 2)).intermediateSize((hidden * 11 / 4 + 63) / 64 * 64)
                .maxPositions(1024).seed(seed);
        if (args.length > 5) {
            Path tokenizer = Path.of(args[4]);
            int vocab = Integer.parseInt(args[5]);
            shape.apply(TinyModels.spec(TinyModels.Family.LLAMA, vocab, 1, 2)).writeTo(dir);
            for (String f : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
                Files.copy(tokenizer.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
        } else {
            TinyModelDirs.write(dir, TinyModels.Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                    ChatTemplateKind.NONE, shape);
        }
        System.out.println("wrote " + dir);
    }
}
