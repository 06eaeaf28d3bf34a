package io.specula.model;

import com.google.gson.JsonElement;
import io.specula.SpeculaException;
import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.testing.Fuzz;
import io.specula.testing.JsonFuzz;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.HfTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the JSON model files (config.json, generation_config.json, tokenizer.json, tokenizer_config.json) by editing
 * valid ones: whatever the edit, loading either succeeds and the result works, or fails with the project's own
 * {@link SpeculaException}; nothing else escapes (no Gson, number-format, index, state or memory error), and the
 * tokenizers library behind DJL never takes the JVM down. Each property runs a fixed number of seeded cases
 * ({@link Fuzz}), which keeps it to a few seconds (a tokenizer load and a chat template render take some 40 ms each
 * once warm); a failure names the seed and case that replay it.
 */
class ModelFilesFuzzTest {

    static final Path ROOT = tempDir();

    /** A complete tiny model (weights, config, tokenizer with a chat template). */
    static final Path QWEN = TinyModelDirs.write(ROOT.resolve("qwen"), TinyModels.Family.QWEN2,
            TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN,
            s -> s.bos(TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, "<|endoftext|>")));

    static final Path LLAMA = TinyModelDirs.llama(ROOT.resolve("llama"), 3);

    static final Path WORK = ROOT.resolve("work");

    static Path tempDir() {
        try {
            return Files.createTempDirectory("model-files-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterAll
    static void cleanUp() throws IOException {
        try (Stream<Path> all = Files.walk(ROOT)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A fresh copy of {@code model} in {@link #WORK} with {@code file} replaced by {@code content}. */
    static Path withFile(Path model, String file, String content) throws IOException {
        if (Files.exists(WORK)) {
            try (Stream<Path> all = Files.list(WORK)) {
                for (Path p : all.toList()) {
                    Files.delete(p);
                }
            }
        } else {
            Files.createDirectories(WORK);
        }
        try (Stream<Path> all = Files.list(model)) {
            for (Path p : all.toList()) {
                Files.createSymbolicLink(WORK.resolve(p.getFileName()), p);
            }
        }
        Files.delete(WORK.resolve(file));
        // (A lone surrogate in a generated string becomes '?': the file is UTF-8 either way.)
        Files.write(WORK.resolve(file), content.getBytes(StandardCharsets.UTF_8));
        return WORK;
    }

    static String edited(Path model, String file, List<JsonFuzz.Edit> edits) throws IOException {
        JsonElement json = JsonFuzz.apply(Files.readString(model.resolve(file)), edits);
        return json.toString();
    }

    static Path model(boolean qwen) {
        return qwen ? QWEN : LLAMA;
    }

    /** Edits of one JSON file of the Qwen-like or the Llama-like model. */
    record FileEdit(List<JsonFuzz.Edit> edits, boolean qwen) {
    }

    static FileEdit fileEdit(SplittableRandom r) {
        return new FileEdit(JsonFuzz.edits(r, 3), r.nextBoolean());
    }

    @TestFactory
    Stream<DynamicTest> configJson() {
        return Fuzz.property("ModelFilesFuzzTest.configJson", 150, ModelFilesFuzzTest::fileEdit, e -> {
            Path dir = withFile(model(e.qwen()), "config.json", edited(model(e.qwen()), "config.json", e.edits()));
            try (LoadedModel m = ModelLoader.load(dir, "cpu", "auto", "scalar")) {
                float[][] logits = m.model().forward(new int[] {1, 2, 3}, m.model().newCache(8), 1);
                assertThat(logits[0]).hasSize(m.model().vocabSize());
            } catch (SpeculaException expected) {
                assertThat(expected.getMessage()).isNotBlank();
            }
        });
    }

    @TestFactory
    Stream<DynamicTest> generationConfigJson() {
        return Fuzz.property("ModelFilesFuzzTest.generationConfigJson", 300, ModelFilesFuzzTest::fileEdit, e -> {
            Path dir = withFile(model(e.qwen()), GenerationConfig.FILE,
                    edited(model(e.qwen()), GenerationConfig.FILE, e.edits()));
            try {
                GenerationConfig.read(dir);
            } catch (SpeculaException expected) {
                assertThat(expected.getMessage()).contains(GenerationConfig.FILE);
            }
        });
    }

    @TestFactory
    Stream<DynamicTest> tokenizerJson() {
        return Fuzz.property("ModelFilesFuzzTest.tokenizerJson", 100, ModelFilesFuzzTest::fileEdit, e ->
                loadAndUse(withFile(model(e.qwen()), "tokenizer.json",
                        edited(model(e.qwen()), "tokenizer.json", e.edits()))));
    }

    @TestFactory
    Stream<DynamicTest> tokenizerConfigJson() {
        return Fuzz.property("ModelFilesFuzzTest.tokenizerConfigJson", 80, ModelFilesFuzzTest::fileEdit, e ->
                loadAndUse(withFile(model(e.qwen()), "tokenizer_config.json",
                        edited(model(e.qwen()), "tokenizer_config.json", e.edits()))));
    }

    /** Any text in place of one of the JSON files. */
    record FileText(String file, String text) {
    }

    @TestFactory
    Stream<DynamicTest> anyTextAsAModelFile() {
        return Fuzz.property("ModelFilesFuzzTest.anyTextAsAModelFile", 100,
                r -> new FileText(Fuzz.oneOf(r, FILES), text(r)), t -> {
                    Path dir = withFile(QWEN, t.file(), t.text());
                    try (LoadedModel m = ModelLoader.load(dir, "cpu", "auto", "scalar")) {
                        assertThat(m.tokenizer().vocabSize()).isPositive();
                    } catch (SpeculaException expected) {
                        assertThat(expected.getMessage()).isNotBlank();
                    }
                });
    }

    static final List<String> FILES = List.of("config.json", "generation_config.json", "tokenizer.json",
            "tokenizer_config.json");

    static final List<String> TEXTS = List.of("", "{}", "[]", "null", "{\"a\":", "{\"model\":{}}",
            "{\"model\":{\"vocab\":[]}}", "\uFEFF{}", "{\"architectures\":[]}", "[".repeat(5000),
            "{\"a\":".repeat(3000));

    /** Random text (up to 64 chars), or one of a few nasty documents. */
    static String text(SplittableRandom r) {
        return r.nextBoolean() ? Fuzz.string(r, 64) : Fuzz.oneOf(r, TEXTS);
    }

    /** Found by this fuzzer: an AddedToken whose content is not a string escaped as Gson's IllegalStateException. */
    @Test
    void aSpecialTokenWhoseContentIsNotAStringIsAClearError() throws IOException {
        for (String content : List.of("[]", "null", "{}", "[1, 2]")) {
            Path dir = withFile(LLAMA, "tokenizer_config.json", "{\"bos_token\": {\"content\": " + content + "}}");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> HfTokenizer.load(dir))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("bos_token");
        }
    }

    /** Found by this fuzzer: a tokenizer.json without a single token loaded (and a model loaded with it). */
    @Test
    void aTokenizerWithoutTokensIsAClearError() throws IOException {
        Path dir = withFile(QWEN, "tokenizer.json", "{\"model\":{\"vocab\":[]}}");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> HfTokenizer.load(dir))
            .isInstanceOf(SpeculaException.class).hasMessageContaining("tokenizer.json")
            .hasMessageContaining("empty");
    }

    /** Loads the tokenizer and, when it loads, encodes, decodes and renders the chat template. */
    static void loadAndUse(Path dir) {
        try (HfTokenizer tokenizer = HfTokenizer.load(dir)) {
            int[] ids = tokenizer.encode("Hello, wörld! <|im_end|> 123", true);
            tokenizer.decode(ids);
            if (tokenizer.chatTemplate() != null) {
                try {
                    tokenizer.chatTemplate().render(List.of(new ChatMessage("user", "Hi")), true);
                } catch (SpeculaException templateError) {
                    // A broken template fails its render with the project's error: fine.
                }
            }
        } catch (SpeculaException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }
}
