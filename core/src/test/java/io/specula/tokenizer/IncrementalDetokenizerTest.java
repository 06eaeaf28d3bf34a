package io.specula.tokenizer;

import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class IncrementalDetokenizerTest {

    private static final List<String> TEXTS = List.of(
            "Hello, world! The fox.", " The dog", "  two leading spaces", "Café déjà vu, naïve façade",
            "I ❤️ 🦊 and 👍🏽 €5", "你好，世界。日本語のテキスト", "a  b   c    d\t\te", "line one\nline two\n\n  end\r\n",
            "mixed 🦊fox你好dog€");

    @TempDir
    static Path tmp;
    private static final Map<TokenizerKind, HfTokenizer> TOKENIZERS = new EnumMap<>(TokenizerKind.class);

    @BeforeAll
    static void load() {
        for (TokenizerKind k : TokenizerKind.values()) {
            TinyTokenizers.write(tmp.resolve(k.name()), k, ChatTemplateKind.QWEN);
            TOKENIZERS.put(k, HfTokenizer.load(tmp.resolve(k.name())));
        }
    }

    @AfterAll
    static void close() {
        TOKENIZERS.values().forEach(HfTokenizer::close);
    }

    @ParameterizedTest
    @EnumSource(TokenizerKind.class)
    void streamedTextEqualsDecodeForRandomSequences(TokenizerKind kind) {
        HfTokenizer tok = TOKENIZERS.get(kind);
        Random random = new Random(42);
        List<Integer> byteTokens = new ArrayList<>();
        for (int id = 0; id < tok.vocabSize(); id++) {
            if (tok.tokenString(id).matches("<0x[0-9A-F]{2}>")) {
                byteTokens.add(id);
            }
        }
        for (int trial = 0; trial < 400; trial++) {
            int[] ids = new int[1 + random.nextInt(48)];
            for (int i = 0; i < ids.length; i++) {
                // Mix uniform ids (specials included) with runs of byte tokens and with real text.
                int pick = random.nextInt(4);
                ids[i] = pick == 0 && !byteTokens.isEmpty() ? byteTokens.get(random.nextInt(byteTokens.size()))
                        : random.nextInt(tok.vocabSize());
            }
            if (trial % 3 == 0) {
                int[] text = tok.encode(TEXTS.get(random.nextInt(TEXTS.size())), false);
                int cut = random.nextInt(text.length);
                System.arraycopy(text, cut, ids, 0, Math.min(ids.length, text.length - cut));
            }
            assertThat(stream(tok.newStreamingDetokenizer(), ids, false)).as("ids %s", java.util.Arrays.toString(ids))
                    .isEqualTo(tok.decode(ids));
        }
    }

    @ParameterizedTest
    @EnumSource(TokenizerKind.class)
    void neverEmitsHalfACharacter(TokenizerKind kind) {
        HfTokenizer tok = TOKENIZERS.get(kind);
        for (String text : TEXTS) {
            int[] ids = tok.encode(text, false);
            String streamed = stream(tok.newStreamingDetokenizer(), ids, true);
            assertThat(streamed).isEqualTo(tok.decode(ids));
        }
    }

    @ParameterizedTest
    @EnumSource(TokenizerKind.class)
    void decodesAShortWindowPerToken(TokenizerKind kind) {
        HfTokenizer tok = TOKENIZERS.get(kind);
        int[] ids = tok.encode((TinyTokenizers.TRAINING_TEXT + " Café 🦊 你好.\n").repeat(20), false);
        AtomicLong decoded = new AtomicLong();
        IncrementalDetokenizer d = new IncrementalDetokenizer(window -> {
            decoded.addAndGet(window.length);
            return tok.decode(window);
        }, id -> kind == TokenizerKind.LLAMA2_BYTE_FALLBACK && tok.tokenString(id).matches("<0x[0-9A-F]{2}>"));
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            sb.append(d.push(id));
        }
        sb.append(d.flush());
        assertThat(sb.toString()).isEqualTo(tok.decode(ids));
        // Whole-output decoding would be ~ids²/2 (millions here); windows keep it linear.
        assertThat(decoded.get()).isLessThan(12L * ids.length);
    }

    /** Streams ids; with {@code checkDeltas} every delta must be whole characters (no U+FFFD, no lone surrogate). */
    private static String stream(StreamingDetokenizer d, int[] ids, boolean checkDeltas) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) {
            String delta = d.push(id);
            if (checkDeltas) {
                assertThat(delta).doesNotContain("\uFFFD");
                assertThat(delta.isEmpty() || !Character.isHighSurrogate(delta.charAt(delta.length() - 1))).isTrue();
                assertThat(delta.isEmpty() || !Character.isLowSurrogate(delta.charAt(0))).isTrue();
            }
            sb.append(delta);
        }
        return sb.append(d.flush()).toString();
    }
}
