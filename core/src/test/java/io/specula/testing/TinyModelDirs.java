package io.specula.testing;

import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

import java.nio.file.Path;
import java.util.function.UnaryOperator;

/**
 * Complete tiny model directories (weights, config, tokenizer, chat template) as a user would point the engine at:
 * {@link TinyModels} for the network and {@link TinyTokenizers} for the tokenizer, with matching vocabulary and
 * special-token ids.
 */
public final class TinyModelDirs {

    private TinyModelDirs() {
    }

    /** A Llama model with the Llama-2 byte-fallback tokenizer and no chat template. */
    public static Path llama(Path dir, long seed) {
        return write(dir, TinyModels.Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE,
                spec -> spec.seed(seed));
    }

    /** A drafter for {@link #llama}: the same tokenizer, one layer of hidden size 32 (cheap beside the target). */
    public static Path llamaDrafter(Path dir, long seed) {
        return write(dir, TinyModels.Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE,
                spec -> spec.seed(seed).layers(1).hiddenSize(32));
    }

    /**
     * A Qwen-style target with Qwen3's chat template (byte-level BPE) in {@code dir/target} and its twin (same seed)
     * in {@code dir/drafter}, so that every draft is accepted; bos_token_id is {@code <|endoftext|>}, as in Qwen2.5's
     * config.json. What the application-level tests run the starter on.
     */
    public static Path qwenTwins(Path dir, long seed) {
        int bos = TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, "<|endoftext|>");
        for (String name : java.util.List.of("target", "drafter")) {
            write(dir.resolve(name), TinyModels.Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN,
                    spec -> spec.seed(seed).bos(bos));
        }
        return dir;
    }

    /**
     * Writes a whole model directory.
     *
     * @param adjust changes to the default tiny spec (sizes, seed, dtype, ...)
     */
    public static Path write(Path dir, TinyModels.Family family, TokenizerKind tokenizer, ChatTemplateKind template,
                             UnaryOperator<TinyModels.Spec> adjust) {
        int vocab = TinyTokenizers.write(dir, tokenizer, template);
        int bos = bos(tokenizer, template);
        int eos = eos(tokenizer, template);
        adjust.apply(TinyModels.spec(family, vocab, bos, eos)).writeTo(dir);
        return dir;
    }

    private static int bos(TokenizerKind kind, ChatTemplateKind template) {
        if (template == ChatTemplateKind.LLAMA3) {
            return TinyTokenizers.tokenId(kind, template, "<|begin_of_text|>");
        }
        if (kind == TokenizerKind.GEMMA) {
            return TinyTokenizers.tokenId(kind, template, "<bos>");
        }
        if (template == ChatTemplateKind.PHI4) {   // Phi-4-mini's bos_token_id is <|endoftext|>
            return TinyTokenizers.tokenId(kind, template, "<|endoftext|>");
        }
        return kind == TokenizerKind.LLAMA2_BYTE_FALLBACK ? 1 : -1;
    }

    private static int eos(TokenizerKind kind, ChatTemplateKind template) {
        return switch (template) {
            case LLAMA3 -> TinyTokenizers.tokenId(kind, template, "<|eot_id|>");
            case QWEN -> TinyTokenizers.tokenId(kind, template, "<|im_end|>");
            case GEMMA3 -> TinyTokenizers.tokenId(kind, template, "<eos>");
            case PHI3, PHI4 -> TinyTokenizers.tokenId(kind, template, "<|endoftext|>");
            case NONE -> kind == TokenizerKind.LLAMA2_BYTE_FALLBACK ? 2 : kind == TokenizerKind.GEMMA
                    ? TinyTokenizers.tokenId(kind, template, "<eos>")
                    : TinyTokenizers.tokenId(kind, template, "<|endoftext|>");
        };
    }
}
