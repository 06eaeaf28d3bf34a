package io.specula.training;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class BpeTrainerTest {

    static final String TEXT = """
            It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.

            However little known the feelings or views of such a man may be on his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding families, that he is considered the rightful property of some one or other of their daughters.

            "My dear Mr. Bennet," said his lady to him one day, "have you heard that Netherfield Park is let at last?"

            Mr. Bennet replied that he had not.
            """;

    static BpeTrainer.Vocabulary train(int size) {
        return new BpeTrainer(size, 1, 2).train(List.of(TEXT, TEXT.toUpperCase()));
    }

    @Test
    void llamaLayoutSpecialsThenBytesThenCharactersThenMerges() {
        BpeTrainer.Vocabulary v = train(400);
        assertThat(v.tokens().subList(0, 3)).containsExactly("<unk>", "<s>", "</s>");
        assertThat(v.tokens().get(3)).isEqualTo("<0x00>");
        assertThat(v.tokens().get(3 + 0x0A)).isEqualTo("<0x0A>");
        assertThat(v.tokens().get(258)).isEqualTo("<0xFF>");
        assertThat(v.tokens().get(259)).isEqualTo(BpeTrainer.SPACE); // the most frequent character
        assertThat(v.tokens()).hasSize(400).doesNotHaveDuplicates().doesNotContain("\n");
        assertThat(v.tokens().size()).isEqualTo(259 + v.alphabetSize() + v.merges().size());
        for (String t : v.tokens().subList(259, v.tokens().size())) {
            // ▁ only ever leads a token: merges never cross the start of a word
            assertThat(t.replaceFirst("^\u2581+", "")).doesNotContain(BpeTrainer.SPACE);
        }
        assertThat(v.tokens()).contains("\u2581the", "\u2581of", "\u2581that");
    }

    @Test
    void deterministic() {
        assertThat(train(350).tokens()).isEqualTo(train(350).tokens());
    }

    @Test
    void djlLoadsTheFilesAndRoundTripsTextWithByteFallback(@TempDir Path dir) throws Exception {
        BpeTrainer.Vocabulary v = train(400);
        TokenizerFiles.write(dir, v);
        JsonObject config = JsonParser.parseString(Files.readString(dir.resolve("tokenizer_config.json"))).getAsJsonObject();
        assertThat(config.get("bos_token").getAsString()).isEqualTo("<s>");
        assertThat(config.get("add_bos_token").getAsBoolean()).isTrue();
        assertThat(config.get("chat_template").getAsString()).contains("bos_token");
        Map<String, Integer> ids = v.ids();
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder().optTokenizerPath(dir).build()) {
            var enc = tok.encode("It is a man of the truth that");
            long[] withBos = enc.getIds();
            assertThat(withBos[0]).isEqualTo(1);
            assertThat(String.join("", Arrays.copyOfRange(enc.getTokens(), 1, withBos.length)))
                    .isEqualTo("\u2581It\u2581is\u2581a\u2581man\u2581of\u2581the\u2581truth\u2581that");
            assertThat(enc.getTokens()).contains("\u2581that", "\u2581of", "\u2581the");
            for (int i = 1; i < withBos.length; i++) {
                assertThat(ids.get(enc.getTokens()[i])).isEqualTo((int) withBos[i]);
            }
            String odd = "Caf\u00e9 \u2014 na\u00efve\n\nTwo  spaces, a tab\tand \u6f22\u5b57 \ud83d\ude00.";
            long[] oddIds = tok.encode(odd, false, false).getIds();
            assertThat(oddIds).contains(3 + 0x0A, 3 + 0xE6); // newline and CJK bytes fall back to byte tokens
            assertThat(oddIds).doesNotContain(0L);           // never <unk>
            assertThat(tok.decode(oddIds, true)).isEqualTo(odd);
            assertThat(tok.decode(tok.encode(TEXT, false, false).getIds(), true)).isEqualTo(TEXT);
        }
    }

    @Test
    void wholeTextEncodingMatchesWordByWordMerges(@TempDir Path dir) throws Exception {
        // No pre-tokenizer: the whole text is one BPE word, yet the tokens must be those learned per word.
        BpeTrainer.Vocabulary v = train(450);
        TokenizerFiles.write(dir, v);
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder().optTokenizerPath(dir).build()) {
            String[] tokens = tok.encode(TEXT, false, false).getTokens();
            for (String t : tokens) {
                if (t.startsWith("<0x")) {
                    continue;
                }
                assertThat(t.replaceFirst("^\u2581+", "")).doesNotContain(BpeTrainer.SPACE);
            }
            // Frequent words of the text are single tokens.
            assertThat(tokens).contains("\u2581the", "\u2581of", "\u2581that");
        }
    }
}
