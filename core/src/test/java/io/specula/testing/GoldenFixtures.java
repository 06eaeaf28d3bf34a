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
 * q/k norms and a head_dim of its own, Gemma 3 with interleaved sliding-window layers in both config layouts, Phi-3
 * with longrope past its original context, Phi-4-mini with partial rotary and a longrope switch during decoding),
 * F32, F16 and BF16 weights, single files and sharded files with an index, both
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
            if (tokenizer == TokenizerKind.GEMMA) {   // Gemma is always run with <bos> first
                return TinyTokenizers.tokenId(tokenizer, template, "<bos>");
            }
            return tokenizer == TokenizerKind.LLAMA2_BYTE_FALLBACK && template == ChatTemplateKind.NONE ? 1 : -1;
        }

        private int vocabSize() {
            return TinyTokenizers.vocabSize(tokenizer, template);
        }

        /** The special tokens of this fixture's tokenizer, for the tokenizer strings. */
        List<String> specialTokens() {
            List<String> out = new ArrayList<>();
            out.addAll(switch (tokenizer) {
                case LLAMA2_BYTE_FALLBACK -> List.of("<s>", "</s>");
                case GPT2_BYTE_LEVEL -> List.of("<|endoftext|>");
                case GEMMA -> List.of("<bos>", "<eos>", "<mask>");   // <mask> is added but not special
            });
            switch (template) {
                case LLAMA3 -> out.addAll(TinyTokenizers.LLAMA3_SPECIALS);
                case QWEN -> {
                    out.addAll(TinyTokenizers.QWEN_SPECIALS);
                    out.addAll(TinyTokenizers.QWEN_NON_SPECIAL);
                }
                case GEMMA3 -> out.addAll(TinyTokenizers.GEMMA3_SPECIALS);
                case PHI3, PHI4 -> out.addAll(TinyTokenizers.PHI_SPECIALS);
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
                case GEMMA3 -> "<start_of_turn>user\nCan you help?<end_of_turn>\n<start_of_turn>model\n";
                case PHI3 -> "<|user|>\nCan you help?<|end|>\n<|assistant|>\n";
                case PHI4 -> "<|user|>Can you help?<|end|><|assistant|>";
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
                        s -> s.seed(106).shards(2)),
                new Fixture("gemma3-bf16", "Gemma 3 (Gemma3ForCausalLM) in Google's published config layout: 3 "
                        + "layers sliding, sliding, global (sliding_window_pattern 3), window 4 (shorter than the "
                        + "prompt), rope_local_base_freq 1e4 and rope_theta 1e6, head_dim 32 (not hidden/heads = 24), "
                        + "query_pre_attn_scalar 24, hidden 96 (embeddings scaled by sqrt(96)), four (1 + w) norms "
                        + "per layer, q/k norms, tanh-GELU, tied, BF16, one file, Gemma tokenizer and the real Gemma 3 "
                        + "chat template, EOS <eos> and <end_of_turn>",
                        Family.GEMMA3, TokenizerKind.GEMMA, ChatTemplateKind.GEMMA3,
                        s -> s.seed(408).dtype(DType.BF16).eos(
                                id(TokenizerKind.GEMMA, ChatTemplateKind.GEMMA3, "<eos>"),
                                id(TokenizerKind.GEMMA, ChatTemplateKind.GEMMA3, "<end_of_turn>"))),
                new Fixture("gemma3-f32-sharded-softcap", "Gemma 3 in transformers 5's config layout (layer_types, "
                        + "rope_parameters per layer type): linear rope scaling 8 on the global layer (as Gemma 3 "
                        + "4B+), final_logit_softcapping 6 (applied) and attn_logit_softcapping 1 (set, and not "
                        + "applied by transformers 5.12.1's Gemma3), F32, 2 shards, Gemma tokenizer, no template",
                        Family.GEMMA3, TokenizerKind.GEMMA, ChatTemplateKind.NONE,
                        s -> s.seed(202).transformers5Layout(true).ropeLinearFactor(8.0).softcapping(6.0, 1.0)
                                .shards(2)),
                new Fixture("phi3-f16-longrope", "Phi-3 (Phi3ForCausalLM) in Phi-3-mini-128k's published layout: "
                        + "fused qkv_proj and gate_up_proj, longrope (rope_scaling type longrope) with "
                        + "original_max_position_embeddings 8, shorter than the prompt, so every pass uses the long "
                        + "factors (attention factor sqrt(1 + ln 64 / ln 8)), sliding_window 6, 4 KV heads (no "
                        + "grouping), untied, F16, one file, Llama-2 byte-fallback tokenizer (tokenizer_class "
                        + "LlamaTokenizer, which transformers ignores for model_type phi3) with a Phi-3 chat template, "
                        + "EOS <|endoftext|> and <|end|>",
                        Family.PHI3, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.PHI3,
                        s -> s.seed(406).kvHeads(4).longRope(8).slidingWindow(6).dtype(DType.F16).eos(
                                id(TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.PHI3, "<|endoftext|>"),
                                id(TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.PHI3, "<|end|>"))),
                new Fixture("phi4mini-bf16-tied", "Phi-4-mini style in transformers 5's config layout "
                        + "(rope_parameters): partial_rotary_factor 0.75 (12 of 16 dimensions rotated), longrope with "
                        + "original_max_position_embeddings 40: the prompt uses the short factors and greedy decoding "
                        + "crosses to the long ones at step 31 (every position recomputed with them), "
                        + "max_position_embeddings 128, 4 heads / 2 KV heads, tied, BF16, 2 shards, byte-level "
                        + "tokenizer with the Phi-4-mini chat template, EOS <|end|> and <|endoftext|>",
                        Family.PHI3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.PHI4,
                        s -> s.seed(204).tied(true).partialRotaryFactor(0.75).longRope(40).maxPositions(128)
                                .transformers5Layout(true).dtype(DType.BF16).shards(2).eos(
                                        id(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.PHI4, "<|end|>"),
                                        id(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.PHI4, "<|endoftext|>"))));
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
