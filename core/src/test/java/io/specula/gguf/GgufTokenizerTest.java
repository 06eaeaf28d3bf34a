package io.specula.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.specula.gguf.GgufWriter.TensorType;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * The tokenizer made from a GGUF file's metadata alone ({@link GgufTokenizer}) against the model's own tokenizer.json
 * (run the way transformers runs it) and against llama.cpp's tokenizer (java-llama.cpp, llama.cpp b4916) on the same
 * GGUF file, on hard strings: unicode (combining accents, emoji, CJK), whitespace runs, digits, code, special tokens
 * written in the text, the empty string.
 *
 * <ul>
 *   <li>Byte-level BPE (gpt2 vocabularies, pre-tokenizers gpt-2 and qwen2): the same ids as tokenizer.json, with and
 *       without the special tokens added, and as llama.cpp; the same decoded text; the same chat renderings. One
 *       exception, on purpose: Qwen2's tokenizer.json normalizes text to NFC (transformers' Qwen2Tokenizer does too)
 *       and llama.cpp does not, so "e\u0301" (e and a combining accent) is "é" here and in transformers, and two
 *       pieces in llama.cpp; we follow the model's own tokenizer.</li>
 *   <li>SentencePiece (llama vocabularies): the same ids as llama.cpp for every string. transformers' LlamaTokenizer
 *       (legacy = false) differs from SentencePiece and llama.cpp in one documented way: it prepends ▁ only at the
 *       start of the text, where llama.cpp prepends one to every piece between special tokens (so "</s>Hello" is
 *       "▁Hello" after the special token in llama.cpp) and never merges an existing leading space into it. Strings
 *       without those cases are equal to tokenizer.json too.</li>
 * </ul>
 */
class GgufTokenizerTest {

    @TempDir
    Path tmp;

    static Stream<Arguments> vocabularies() {
        return Stream.of(
                Arguments.of("llama-spm", Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE),
                Arguments.of("gpt2", Family.LLAMA, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.NONE),
                Arguments.of("llama3-template", Family.LLAMA3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.LLAMA3),
                Arguments.of("qwen2", Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN));
    }

    static List<String> hardStrings(TokenizerKind kind, ChatTemplateKind template) {
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
                "def f(x):\n    return x**2  # that's all",
                "{\"key\": [1, 2.5e-3, null], 'it''s'}  \r\n\u00a0nbsp\u200bzero-width"));
        List<String> specials = new ArrayList<>(kind == TokenizerKind.LLAMA2_BYTE_FALLBACK ? List.of("<s>", "</s>")
                : List.of("<|endoftext|>"));
        switch (template) {
            case LLAMA3 -> specials.addAll(TinyTokenizers.LLAMA3_SPECIALS);
            case QWEN -> {
                specials.addAll(TinyTokenizers.QWEN_SPECIALS);
                specials.addAll(TinyTokenizers.QWEN_NON_SPECIAL);
            }
            case NONE -> { }
        }
        s.add(String.join(" hi ", specials.stream().distinct().toList()) + " bye");
        s.add(specials.get(0) + "Hello world" + specials.get(specials.size() - 1) + "  again");
        return s;
    }

    /** Where SentencePiece (llama.cpp) and transformers' LlamaTokenizer (legacy = false) part ways. */
    static boolean spmPrefixCase(String s, List<String> specials) {
        return !s.isEmpty() && Character.isWhitespace(s.charAt(0)) || specials.stream().anyMatch(s::contains);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("vocabularies")
    void metadataTokenizerEncodesAsTokenizerJsonAndLlamaCpp(String name, Family family, TokenizerKind kind,
                                                             ChatTemplateKind template) throws IOException {
        Path dir = TinyModelDirs.write(tmp.resolve(name), family, kind, template, s -> s);
        Path gguf = Files.createDirectories(tmp.resolve("gguf")).resolve(name + ".gguf");   // no tokenizer.json beside
        GgufExporter.export(dir, gguf, TensorType.F32);
        boolean spm = kind == TokenizerKind.LLAMA2_BYTE_FALLBACK;
        List<String> specials = spm ? List.of("<s>", "</s>") : List.of("<|");
        new LlamaCpp(gguf, 1, 64, 0).close();   // the native library's settings
        try (HfTokenizer hf = HfTokenizer.load(dir);
             GgufFile f = GgufFile.open(gguf);
             HfTokenizer ours = GgufTokenizer.load(f);
             LlamaModel llama = new LlamaModel(new ModelParameters().setModel(gguf.toString()).setThreads(1)
                     .setCtxSize(64).disableLog())) {
            assertThat(ours.vocabSize()).isEqualTo(hf.vocabSize());
            assertThat(ours.bosId()).isEqualTo(hf.bosId());
            int differFromHf = 0;
            int differFromLlamaCpp = 0;
            for (String s : hardStrings(kind, template)) {
                int[] mine = ours.encode(s, false);
                if (template == ChatTemplateKind.QWEN && !Normalizer.isNormalized(s, Normalizer.Form.NFC)) {
                    differFromLlamaCpp += Arrays.equals(mine, llama.encode(s)) ? 0 : 1;   // NFC: see the class comment
                } else {
                    assertThat(llama.encode(s)).as("%s: llama.cpp's ids for %s", name, quoted(s)).containsExactly(mine);
                }
                if (spm && spmPrefixCase(s, specials)) {
                    differFromHf += Arrays.equals(mine, hf.encode(s, false)) ? 0 : 1;
                } else {
                    assertThat(mine).as("%s: ids for %s", name, quoted(s)).containsExactly(hf.encode(s, false));
                    assertThat(ours.encode(s, true)).as("%s: ids with BOS for %s", name, quoted(s))
                            .containsExactly(hf.encode(s, true));
                }
                assertThat(ours.decode(mine)).as("%s: decoded %s", name, quoted(s)).isEqualTo(hf.decode(mine));
            }
            System.out.printf("%-16s %d hard strings: ids equal to llama.cpp's for all%s, to tokenizer.json's for all%s%n",
                    name, hardStrings(kind, template).size(),
                    differFromLlamaCpp == 0 ? "" : " but " + differFromLlamaCpp + " (not NFC: Qwen2's normalizer)",
                    spm ? " but " + differFromHf + " (a space or special token first: SentencePiece's prefix)" : "");
            assertThat(ours.eosIds()).containsAll(hf.eosIds());
            if (template != ChatTemplateKind.NONE) {
                List<ChatMessage> chat = List.of(new ChatMessage("system", "Be brief."),
                        new ChatMessage("user", "Hi there 👋"), new ChatMessage("assistant", "Hello!"),
                        new ChatMessage("user", "2+2?"));
                String a = hf.chatTemplate().render(chat, true);
                String b = ours.chatTemplate().render(chat, true);
                assertThat(b).isEqualTo(a);
                assertThat(ours.encode(b, false)).containsExactly(hf.encode(a, false));
            }
        }
    }

    @Test
    void aTokenizerJsonNextToTheFileWins() throws IOException {
        Path dir = TinyModelDirs.write(tmp.resolve("m"), Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL,
                ChatTemplateKind.QWEN, s -> s);
        Path gguf = dir.resolve("model.gguf");
        GgufExporter.export(dir, gguf, TensorType.F32);
        // a different tokenizer.json next to the file (every token is its own byte-level piece: no merges)
        String json = Files.readString(dir.resolve("tokenizer.json"));
        com.google.gson.JsonObject o = com.google.gson.JsonParser.parseString(json).getAsJsonObject();
        o.getAsJsonObject("model").add("merges", new com.google.gson.JsonArray());
        Files.writeString(dir.resolve("tokenizer.json"), o.toString());
        try (GgufFile f = GgufFile.open(gguf); HfTokenizer beside = GgufTokenizer.load(f);
             HfTokenizer metadata = HfTokenizer.load(gguf, GgufTokenizer.tokenizerJson(f),
                     GgufTokenizer.tokenizerConfig(f), List.of())) {
            String text = "The quick brown fox";
            assertThat(beside.encode(text, false)).hasSize(text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
            assertThat(metadata.encode(text, false).length).isLessThan(text.length());
        }
    }

    private static String quoted(String s) {
        return "\"" + s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + "\"";
    }
}
