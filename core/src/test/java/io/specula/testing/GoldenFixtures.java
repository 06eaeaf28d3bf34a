package io.specula.testing;

import io.specula.model.safetensors.DType;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The model directories checked against Hugging Face transformers (golden files under
 * {@code core/src/test/resources/golden/<name>/}, written by {@link RegenerateGolden}; see docs/testing.md).
 *
 * <p>Together they cover what real checkpoints use: every supported family (Llama untied and tied, Llama 3.x with
 * llama3 rope scaling, Mistral with a sliding window shorter than the sequence, Qwen2 with q/k/v biases, Qwen3 with
 * q/k norms and a head_dim of its own), F32, F16 and BF16 weights, single files and sharded files with an index, both
 * tokenizer kinds, both chat template kinds, and several EOS ids in generation_config.json. Each fixture has its own
 * tokenizer/template combination, so every combination's tokenizer golden is recorded once.
 *
 * <p>Everything here is deterministic: the same fixture writes the same bytes on every run
 * ({@link #fingerprint} is recorded in the golden file, so a changed fixture is noticed).
 */
public final class GoldenFixtures {

    /** Tokens generated greedily after the prompt. */
    public static final int GREEDY_TOKENS = 40;
    /** Prompt length: logits are recorded at each of these positions. */
    public static final int PROMPT_LENGTH = 10;

    /** One golden fixture: a complete model directory plus what is asked of transformers about it. */
    public record Fixture(String name, String description, Family family, TokenizerKind tokenizer,
                          ChatTemplateKind template, UnaryOperator<TinyModels.Spec> adjust) {

        /** Writes the model directory (weights, config, generation config, tokenizer, chat template). */
        public Path writeTo(Path dir) {
            return TinyModelDirs.write(dir, family, tokenizer, template, adjust);
        }

        /** The prompt: BOS (when the model has one) then fixed ids spread over the vocabulary, never a special token. */
        public int[] prompt() {
            int vocab = vocabSize();
            int[] p = new int[PROMPT_LENGTH];
            int i = 0;
            int bos = bosId();
            if (bos >= 0) {
                p[i++] = bos;
            }
            int x = 17;
            while (i < p.length) {
                x = (x * 131 + 71) % vocab;
                if (x >= 3 && x < vocab - 8) {   // not an added token: those are ids 0-2 and the last few
                    p[i++] = x;
                }
            }
            return p;
        }

        private int bosId() {
            if (template == ChatTemplateKind.LLAMA3) {
                return TinyTokenizers.tokenId(tokenizer, template, "<|begin_of_text|>");
            }
            return tokenizer == TokenizerKind.LLAMA2_BYTE_FALLBACK && template == ChatTemplateKind.NONE ? 1 : -1;
        }

        private int vocabSize() {
            return TinyTokenizers.vocabSize(tokenizer, template);
        }

        /** The special tokens of this fixture's tokenizer, for the tokenizer strings. */
        List<String> specialTokens() {
            List<String> out = new ArrayList<>();
            out.addAll(tokenizer == TokenizerKind.LLAMA2_BYTE_FALLBACK ? List.of("<s>", "</s>")
                    : List.of("<|endoftext|>"));
            switch (template) {
                case LLAMA3 -> out.addAll(TinyTokenizers.LLAMA3_SPECIALS);
                case QWEN -> {
                    out.addAll(TinyTokenizers.QWEN_SPECIALS);
                    out.addAll(TinyTokenizers.QWEN_NON_SPECIAL);
                }
                case NONE -> { }
            }
            return out.stream().distinct().toList();
        }

        /**
         * The strings whose ids are recorded: ASCII, accents (precomposed and combining), emoji (with a skin tone
         * modifier), CJK, runs of spaces, tabs and newlines, digits, code, the empty string, and the special tokens
         * written in the text.
         */
        public List<String> tokenizerStrings() {
            List<String> s = new ArrayList<>(List.of(
                    "Hello, world! How are you today?",
                    "The quick brown fox jumps over the lazy dog.",
                    "Café déjà vu: naïve façade, Ångström, Straße, e\u0301te\u0301",
                    "emoji 🦊🚀 and 👍🏽!",
                    "中文测试，日本語のテキスト、한국어",
                    "  two leading,  runs   of    spaces\tand\t\ttabs\n\nnew lines  \n trailing  ",
                    "   ",
                    "",
                    "In 2024 there were 365 days; 1234567890.",
                    "def f(x):\n    return x**2  # that's all"));
            List<String> specials = specialTokens();
            s.add(String.join(" hi ", specials) + " bye");
            s.add(switch (template) {
                case NONE -> specials.get(0) + "Hello world" + specials.get(specials.size() - 1) + "  again";
                case LLAMA3 -> "<|start_header_id|>user<|end_header_id|>\n\nCan you help?<|eot_id|>";
                case QWEN -> "<|im_start|>user\nCan you help?<|im_end|>\n<|im_start|>assistant\n<think>\nok\n</think>";
            });
            return s;
        }

        /** Strings also encoded without special tokens (add_special_tokens=False). */
        public List<String> tokenizerStringsWithoutSpecials() {
            List<String> all = tokenizerStrings();
            return List.of(all.get(0), all.get(all.size() - 2));
        }
    }

    /** A chat conversation and whether the generation prompt is appended. */
    public record Conversation(List<String[]> messages, boolean addGenerationPrompt) {
    }

    private GoldenFixtures() {
    }

    public static List<Fixture> all() {
        return List.of(
                new Fixture("llama-f32", "Llama 2 style, untied, F32, one file, Llama-2 byte-fallback tokenizer",
                        Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE,
                        s -> s.seed(101)),
                new Fixture("llama-tied-f16", "Llama, tied embeddings, F16, one file, GPT-2 byte-level tokenizer",
                        Family.LLAMA, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.NONE,
                        s -> s.seed(102).tied(true).dtype(DType.F16)),
                new Fixture("llama3-bf16-sharded", "Llama 3.x: rope_scaling llama3 (theta 5e5, factor 8, "
                        + "original_max_position_embeddings 64, head_dim 16: some frequencies kept, some divided by 8, "
                        + "some smoothed), BF16, 3 shards with an index, byte-level tokenizer, Llama-3 chat template, "
                        + "EOS <|eot_id|> and <|end_of_text|> in generation_config.json",
                        Family.LLAMA3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.LLAMA3,
                        s -> s.seed(103).dtype(DType.BF16).shards(3).eos(
                                id(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.LLAMA3, "<|eot_id|>"),
                                id(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.LLAMA3, "<|end_of_text|>"))),
                new Fixture("mistral-f16-sharded", "Mistral, sliding_window 8 (shorter than prompt and output), F16, "
                        + "2 shards, Llama-2 byte-fallback tokenizer with the Llama-3 special tokens and template",
                        Family.MISTRAL, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.LLAMA3,
                        s -> s.seed(104).dtype(DType.F16).shards(2).slidingWindow(8)),
                new Fixture("qwen2-bf16-tied", "Qwen2: q/k/v biases, tied embeddings, BF16, Llama-2 byte-fallback "
                        + "tokenizer with the Qwen special tokens and template, EOS <|im_end|> and <|endoftext|>",
                        Family.QWEN2, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.QWEN,
                        s -> s.seed(105).dtype(DType.BF16).tied(true).eos(
                                id(TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.QWEN, "<|im_end|>"),
                                id(TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.QWEN, "<|endoftext|>"))),
                new Fixture("qwen3-f32-sharded", "Qwen3: q_norm/k_norm, head_dim 24 (not hidden/heads = 16), F32, "
                        + "2 shards, Qwen2 byte-level tokenizer (NFC, Qwen split regex), Qwen3 chat template",
                        Family.QWEN3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN,
                        s -> s.seed(106).shards(2)));
    }

    public static Fixture named(String name) {
        return all().stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no golden fixture " + name));
    }

    /** The conversations rendered with each fixture's chat template. */
    public static List<Conversation> conversations() {
        String[] system = {"system", "You are a helpful assistant."};
        String[] user = {"user", "What is the capital of France?"};
        return List.of(
                new Conversation(List.of(system, user), true),
                new Conversation(List.of(system, user), false),
                new Conversation(List.of(new String[]{"user", "Hi!"},
                        new String[]{"assistant", "Hello! How can I help?"},
                        new String[]{"user", "Ça va? Tell me about the fox 🦊.\nTwo lines."}), true),
                new Conversation(List.of(new String[]{"system", "Answer briefly."}, new String[]{"user", "2+2?"},
                        new String[]{"assistant", "4"}), false));
    }

    private static int id(TokenizerKind kind, ChatTemplateKind template, String token) {
        return TinyTokenizers.tokenId(kind, template, token);
    }

    /** SHA-256 over the names and bytes of every file in {@code dir} (sorted by name): what the golden was made from. */
    public static String fingerprint(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files.filter(Files::isRegularFile).sorted().toList()) {
                md.update(f.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                md.update((byte) 0);
                md.update(Files.readAllBytes(f));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
