package io.specula.testing;

import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

import java.nio.file.Path;

/**
 * Writes a random Llama model directory of a given size, for benchmarks ({@code generate --bench}, {@code bench}):
 * {@code WriteRandomModel DIR LAYERS HIDDEN [SEED]}. Heads of 64 dimensions, half as many KV heads, MLP 2.75x.
 */
public final class WriteRandomModel {

    private WriteRandomModel() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int layers = Integer.parseInt(args[1]);
        int hidden = Integer.parseInt(args[2]);
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 1;
        int heads = Math.max(1, hidden / 64);
        TinyModelDirs.write(dir, TinyModels.Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE,
                s -> s.layers(layers).hiddenSize(hidden).heads(heads).kvHeads(Math.max(1, heads / 2))
                        .intermediateSize((hidden * 11 / 4 + 63) / 64 * 64).maxPositions(1024).seed(seed));
        System.out.println("wrote " + dir);
    }
}
