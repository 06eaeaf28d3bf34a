package io.specula.tokenizer;

import io.specula.model.ModelFormatException;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static io.specula.testing.TinyTokenizers.ChatTemplateKind.LLAMA3;
import static io.specula.testing.TinyTokenizers.ChatTemplateKind.NONE;
import static io.specula.testing.TinyTokenizers.ChatTemplateKind.QWEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HfTokenizerTest {

    private static final TokenizerKind LLAMA2 = TokenizerKind.LLAMA2_BYTE_FALLBACK;
    private static final TokenizerKind GPT2 = TokenizerKind.GPT2_BYTE_LEVEL;

    @TempDir
    static Path tmp;
    private static final Map<TokenizerKind, Map<ChatTemplateKind, HfTokenizer>> TOKENIZERS = new EnumMap<>(TokenizerKind.class);
    private static final Map<TokenizerKind, Map<ChatTemplateKind, Integer>> VOCAB = new EnumMap<>(TokenizerKind.class);

    @BeforeAll
    static void writeFixtures() {
        for (TokenizerKind k : TokenizerKind.values()) {
            for (ChatTemplateKind t : ChatTemplateKind.values()) {
                Path dir = tmp.resolve(k + "-" + t);
                VOCAB.computeIfAbsent(k, x -> new EnumMap<>(ChatTemplateKind.class)).put(t, TinyTokenizers.write(dir, k, t));
                TOKENIZERS.computeIfAbsent(k, x -> new EnumMap<>(ChatTemplateKind.class)).put(t, HfTokenizer.load(dir));
            }
        }
    }

    @AfterAll
    static void close() {
        TOKENIZERS.values().forEach(m -> m.values().forEach(HfTokenizer::close));
    }

    private static HfTokenizer tok(TokenizerKind k, ChatTemplateKind t) {
        return TOKENIZERS.get(k).get(t);
    }

    private static Arguments c(TokenizerKind k, ChatTemplateKind t, boolean special, String text, int... ids) {
        return Arguments.of(k, t, special, text, ids);
    }

    /**
     * Ids from Hugging Face transformers 5.12.1 (AutoTokenizer.from_pretrained(dir).encode(text,
     * add_special_tokens=...)) on the TinyTokenizers fixtures, via shared/tools/hf-reference (run.sh tokenize).
     * The Llama-2 cases after special tokens ("Hi</s>there") depend on transformers 5 rebuilding LlamaTokenizer's
     * pipeline (see TransformersPipeline): tokenizer.json alone would give "▁there".
     */
    static Stream<Arguments> transformersIds() {
        return Stream.of(
                c(LLAMA2, NONE, true, "Hello, world! The fox.", 1, 403, 287, 388, 264, 317, 347, 294, 286, 259, 331, 372, 265),
                c(LLAMA2, NONE, false, "Hello, world! The fox.", 403, 287, 388, 264, 317, 347, 294, 286, 259, 331, 372, 265),
                c(LLAMA2, NONE, true, "Café déjà vu, naïve façade", 1, 309, 70, 376, 198, 172, 318, 198, 172, 292, 198, 163, 309, 304, 303, 264, 309, 296, 283, 198, 178, 304, 287, 325, 283, 198, 170, 353, 287),
                c(LLAMA2, NONE, false, "Café déjà vu, naïve façade", 309, 70, 376, 198, 172, 318, 198, 172, 292, 198, 163, 309, 304, 303, 264, 309, 296, 283, 198, 178, 304, 287, 325, 283, 198, 170, 353, 287),
                c(LLAMA2, NONE, true, "I ❤️ 🦊 and 👍🏽 €5", 1, 366, 309, 229, 160, 167, 242, 187, 146, 309, 243, 162, 169, 141, 327, 309, 243, 162, 148, 144, 243, 162, 146, 192, 309, 229, 133, 175, 271),
                c(LLAMA2, NONE, false, "I ❤️ 🦊 and 👍🏽 €5", 366, 309, 229, 160, 167, 242, 187, 146, 309, 243, 162, 169, 141, 327, 309, 243, 162, 148, 144, 243, 162, 146, 192, 309, 229, 133, 175, 271),
                c(LLAMA2, NONE, true, "你好，世界。日本語のテキスト", 1, 309, 231, 192, 163, 232, 168, 192, 242, 191, 143, 231, 187, 153, 234, 152, 143, 230, 131, 133, 233, 154, 168, 233, 159, 175, 235, 173, 161, 230, 132, 177, 230, 134, 137, 230, 133, 176, 230, 133, 188, 230, 134, 139),
                c(LLAMA2, NONE, false, "你好，世界。日本語のテキスト", 309, 231, 192, 163, 232, 168, 192, 242, 191, 143, 231, 187, 153, 234, 152, 143, 230, 131, 133, 233, 154, 168, 233, 159, 175, 235, 173, 161, 230, 132, 177, 230, 134, 137, 230, 133, 176, 230, 133, 188, 230, 134, 139),
                c(LLAMA2, NONE, true, "a  b   c    d\t\te", 1, 312, 309, 337, 309, 309, 348, 309, 309, 309, 318, 12, 12, 287),
                c(LLAMA2, NONE, false, "a  b   c    d\t\te", 312, 309, 337, 309, 309, 348, 309, 309, 309, 318, 12, 12, 287),
                c(LLAMA2, NONE, true, "line one\nline two\n\n  indented\r\nend", 1, 349, 359, 287, 373, 287, 13, 294, 359, 287, 310, 305, 297, 13, 13, 309, 320, 286, 322, 302, 345, 16, 13, 322, 286),
                c(LLAMA2, NONE, false, "line one\nline two\n\n  indented\r\nend", 349, 359, 287, 373, 287, 13, 294, 359, 287, 310, 305, 297, 13, 13, 309, 320, 286, 322, 302, 345, 16, 13, 322, 286),
                c(LLAMA2, NONE, true, " The dog", 1, 331, 371),
                c(LLAMA2, NONE, false, " The dog", 331, 371),
                c(LLAMA2, NONE, true, "", 1),
                c(LLAMA2, NONE, false, ""),
                c(LLAMA2, NONE, true, "The quick brown fox jumps over the lazy dog.", 1, 331, 309, 299, 303, 291, 380, 337, 300, 392, 296, 372, 309, 292, 303, 295, 298, 301, 338, 365, 313, 349, 283, 308, 307, 413),
                c(LLAMA2, NONE, false, "The quick brown fox jumps over the lazy dog.", 331, 309, 299, 303, 291, 380, 337, 300, 392, 296, 372, 309, 292, 303, 295, 298, 301, 338, 365, 313, 349, 283, 308, 307, 413),
                c(LLAMA2, NONE, true, "<s>Hello</s> world", 1, 1, 277, 287, 388, 2, 317, 347, 294, 286),
                c(LLAMA2, NONE, false, "<s>Hello</s> world", 1, 277, 287, 388, 2, 317, 347, 294, 286),
                c(LLAMA2, NONE, true, "Hi</s>there", 1, 403, 291, 2, 302, 311, 315),
                c(LLAMA2, NONE, false, "Hi</s>there", 403, 291, 2, 302, 311, 315),
                c(LLAMA2, LLAMA3, true, "Hello, world! The fox.", 429, 403, 287, 388, 264, 317, 347, 294, 286, 259, 331, 372, 265),
                c(LLAMA2, LLAMA3, false, "Hello, world! The fox.", 403, 287, 388, 264, 317, 347, 294, 286, 259, 331, 372, 265),
                c(LLAMA2, LLAMA3, true, "line one\nline two\n\n  indented\r\nend", 429, 349, 359, 287, 373, 287, 13, 294, 359, 287, 310, 305, 297, 13, 13, 309, 320, 286, 322, 302, 345, 16, 13, 322, 286),
                c(LLAMA2, LLAMA3, false, "line one\nline two\n\n  indented\r\nend", 349, 359, 287, 373, 287, 13, 294, 359, 287, 310, 305, 297, 13, 13, 309, 320, 286, 322, 302, 345, 16, 13, 322, 286),
                c(LLAMA2, LLAMA3, true, " The dog", 429, 331, 371),
                c(LLAMA2, LLAMA3, false, " The dog", 331, 371),
                c(LLAMA2, LLAMA3, true, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>", 429, 429, 431, 303, 301, 334, 432, 13, 13, 277, 291, 313, 315, 433),
                c(LLAMA2, LLAMA3, false, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>", 429, 431, 303, 301, 334, 432, 13, 13, 277, 291, 313, 315, 433),
                c(LLAMA2, LLAMA3, true, "a<|eot_id|>b", 429, 312, 433, 284),
                c(LLAMA2, LLAMA3, false, "a<|eot_id|>b", 312, 433, 284),
                c(LLAMA2, QWEN, true, "Hello, world! The fox.", 1, 403, 287, 388, 264, 317, 347, 294, 286, 259, 331, 372, 265),
                c(LLAMA2, QWEN, false, "Hello, world! The fox.", 403, 287, 388, 264, 317, 347, 294, 286, 259, 331, 372, 265),
                c(LLAMA2, QWEN, true, "line one\nline two\n\n  indented\r\nend", 1, 349, 359, 287, 373, 287, 13, 294, 359, 287, 310, 305, 297, 13, 13, 309, 320, 286, 322, 302, 345, 16, 13, 322, 286),
                c(LLAMA2, QWEN, false, "line one\nline two\n\n  indented\r\nend", 349, 359, 287, 373, 287, 13, 294, 359, 287, 310, 305, 297, 13, 13, 309, 320, 286, 322, 302, 345, 16, 13, 322, 286),
                c(LLAMA2, QWEN, true, " The dog", 1, 331, 371),
                c(LLAMA2, QWEN, false, " The dog", 331, 371),
                c(LLAMA2, QWEN, true, "<|im_start|>user\nHi<|im_end|>\n", 1, 430, 303, 301, 334, 13, 277, 291, 431, 13),
                c(LLAMA2, QWEN, false, "<|im_start|>user\nHi<|im_end|>\n", 430, 303, 301, 334, 13, 277, 291, 431, 13),
                c(LLAMA2, QWEN, true, "<think>\nhmm\n</think>\n\nok", 1, 432, 13, 290, 295, 295, 13, 433, 13, 13, 336),
                c(LLAMA2, QWEN, false, "<think>\nhmm\n</think>\n\nok", 432, 13, 290, 295, 295, 13, 433, 13, 13, 336),
                c(LLAMA2, QWEN, true, "x<|endoftext|>y", 1, 309, 306, 429, 307),
                c(LLAMA2, QWEN, false, "x<|endoftext|>y", 309, 306, 429, 307),
                c(GPT2, NONE, true, "Hello, world! The fox.", 39, 68, 334, 11, 263, 293, 75, 67, 0, 282, 318, 13),
                c(GPT2, NONE, false, "Hello, world! The fox.", 39, 68, 334, 11, 263, 293, 75, 67, 0, 282, 318, 13),
                c(GPT2, NONE, true, "Café déjà vu, naïve façade", 34, 322, 127, 102, 264, 127, 102, 73, 127, 254, 220, 85, 84, 11, 220, 77, 64, 127, 107, 85, 68, 271, 64, 127, 100, 299, 68),
                c(GPT2, NONE, false, "Café déjà vu, naïve façade", 34, 322, 127, 102, 264, 127, 102, 73, 127, 254, 220, 85, 84, 11, 220, 77, 64, 127, 107, 85, 68, 271, 64, 127, 100, 299, 68),
                c(GPT2, NONE, true, "I ❤️ 🦊 and 👍🏽 €5", 40, 220, 158, 251, 97, 171, 116, 237, 220, 172, 253, 99, 232, 273, 220, 172, 253, 239, 235, 172, 253, 237, 121, 220, 158, 224, 105, 20),
                c(GPT2, NONE, false, "I ❤️ 🦊 and 👍🏽 €5", 40, 220, 158, 251, 97, 171, 116, 237, 220, 172, 253, 99, 232, 273, 220, 172, 253, 239, 235, 172, 253, 237, 121, 220, 158, 224, 105, 20),
                c(GPT2, NONE, true, "你好，世界。日本語のテキスト", 160, 121, 254, 161, 98, 121, 171, 120, 234, 160, 116, 244, 163, 243, 234, 159, 222, 224, 162, 245, 98, 162, 250, 105, 164, 103, 252, 159, 223, 106, 159, 225, 228, 159, 224, 255, 159, 224, 117, 159, 225, 230),
                c(GPT2, NONE, false, "你好，世界。日本語のテキスト", 160, 121, 254, 161, 98, 121, 171, 120, 234, 160, 116, 244, 163, 243, 234, 159, 222, 224, 162, 245, 98, 162, 250, 105, 164, 103, 252, 159, 223, 106, 159, 225, 228, 159, 224, 255, 159, 224, 117, 159, 225, 230),
                c(GPT2, NONE, true, "a  b   c    d\t\te", 64, 220, 283, 220, 220, 294, 220, 220, 220, 264, 197, 197, 68),
                c(GPT2, NONE, false, "a  b   c    d\t\te", 64, 220, 283, 220, 220, 294, 220, 220, 220, 264, 197, 197, 68),
                c(GPT2, NONE, true, "line one\nline two\n\n  indented\r\nend", 75, 305, 68, 319, 68, 198, 75, 305, 68, 256, 86, 78, 198, 198, 220, 266, 67, 268, 83, 291, 201, 198, 268, 67),
                c(GPT2, NONE, false, "line one\nline two\n\n  indented\r\nend", 75, 305, 68, 319, 68, 198, 75, 305, 68, 256, 86, 78, 198, 198, 220, 266, 67, 268, 83, 291, 201, 198, 268, 67),
                c(GPT2, NONE, true, " The dog", 282, 317),
                c(GPT2, NONE, false, " The dog", 282, 317),
                c(GPT2, NONE, true, ""),
                c(GPT2, NONE, false, ""),
                c(GPT2, NONE, true, "The quick brown fox jumps over the lazy dog.", 274, 220, 80, 84, 72, 326, 283, 81, 338, 77, 318, 220, 73, 84, 76, 79, 82, 284, 311, 259, 295, 64, 89, 88, 317, 13),
                c(GPT2, NONE, false, "The quick brown fox jumps over the lazy dog.", 274, 220, 80, 84, 72, 326, 283, 81, 338, 77, 318, 220, 73, 84, 76, 79, 82, 284, 311, 259, 295, 64, 89, 88, 317, 13),
                c(GPT2, NONE, true, "<s>Hello</s> world", 27, 82, 29, 39, 68, 334, 27, 14, 82, 29, 263, 293, 75, 67),
                c(GPT2, NONE, false, "<s>Hello</s> world", 27, 82, 29, 39, 68, 334, 27, 14, 82, 29, 263, 293, 75, 67),
                c(GPT2, NONE, true, "Hi</s>there", 39, 72, 27, 14, 82, 29, 83, 257, 261),
                c(GPT2, NONE, false, "Hi</s>there", 39, 72, 27, 14, 82, 29, 83, 257, 261),
                c(GPT2, LLAMA3, true, "Hello, world! The fox.", 375, 39, 68, 334, 11, 263, 293, 75, 67, 0, 282, 318, 13),
                c(GPT2, LLAMA3, false, "Hello, world! The fox.", 39, 68, 334, 11, 263, 293, 75, 67, 0, 282, 318, 13),
                c(GPT2, LLAMA3, true, "line one\nline two\n\n  indented\r\nend", 375, 75, 305, 68, 319, 68, 198, 75, 305, 68, 256, 86, 78, 198, 198, 220, 266, 67, 268, 83, 291, 201, 198, 268, 67),
                c(GPT2, LLAMA3, false, "line one\nline two\n\n  indented\r\nend", 75, 305, 68, 319, 68, 198, 75, 305, 68, 256, 86, 78, 198, 198, 220, 266, 67, 268, 83, 291, 201, 198, 268, 67),
                c(GPT2, LLAMA3, true, " The dog", 375, 282, 317),
                c(GPT2, LLAMA3, false, " The dog", 282, 317),
                c(GPT2, LLAMA3, true, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>", 375, 375, 377, 84, 82, 279, 378, 198, 198, 39, 72, 259, 261, 379),
                c(GPT2, LLAMA3, false, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>", 375, 377, 84, 82, 279, 378, 198, 198, 39, 72, 259, 261, 379),
                c(GPT2, LLAMA3, true, "a<|eot_id|>b", 375, 64, 379, 65),
                c(GPT2, LLAMA3, false, "a<|eot_id|>b", 64, 379, 65),
                c(GPT2, QWEN, true, "Hello, world! The fox.", 39, 68, 334, 11, 263, 293, 75, 67, 0, 282, 318, 13),
                c(GPT2, QWEN, false, "Hello, world! The fox.", 39, 68, 334, 11, 263, 293, 75, 67, 0, 282, 318, 13),
                c(GPT2, QWEN, true, "line one\nline two\n\n  indented\r\nend", 75, 305, 68, 319, 68, 198, 75, 305, 68, 256, 86, 78, 198, 198, 220, 266, 67, 268, 83, 291, 201, 198, 268, 67),
                c(GPT2, QWEN, false, "line one\nline two\n\n  indented\r\nend", 75, 305, 68, 319, 68, 198, 75, 305, 68, 256, 86, 78, 198, 198, 220, 266, 67, 268, 83, 291, 201, 198, 268, 67),
                c(GPT2, QWEN, true, " The dog", 282, 317),
                c(GPT2, QWEN, false, " The dog", 282, 317),
                c(GPT2, QWEN, true, "<|im_start|>user\nHi<|im_end|>\n", 375, 84, 82, 279, 198, 39, 72, 376, 198),
                c(GPT2, QWEN, false, "<|im_start|>user\nHi<|im_end|>\n", 375, 84, 82, 279, 198, 39, 72, 376, 198),
                c(GPT2, QWEN, true, "<think>\nhmm\n</think>\n\nok", 377, 198, 71, 76, 76, 198, 378, 198, 198, 281),
                c(GPT2, QWEN, false, "<think>\nhmm\n</think>\n\nok", 377, 198, 71, 76, 76, 198, 378, 198, 198, 281),
                c(GPT2, QWEN, true, "x<|endoftext|>y", 87, 374, 88),
                c(GPT2, QWEN, false, "x<|endoftext|>y", 87, 374, 88));
    }

    @ParameterizedTest(name = "{0}/{1} special={2} {3}")
    @MethodSource("transformersIds")
    void encodesLikeTransformers(TokenizerKind k, ChatTemplateKind t, boolean special, String text, int[] ids) {
        HfTokenizer tokenizer = tok(k, t);
        assertThat(tokenizer.encode(text, special)).containsExactly(ids);
        if (special) {
            assertThat(tokenizer.encode(text)).containsExactly(ids);
        }
    }

    @ParameterizedTest(name = "{0}/{1} special={2} {3}")
    @MethodSource("transformersIds")
    void roundTrips(TokenizerKind k, ChatTemplateKind t, boolean special, String text, int[] ids) {
        HfTokenizer tokenizer = tok(k, t);
        assertThat(tokenizer.decode(tokenizer.encode(text, false))).isEqualTo(text.startsWith(" ") && k == LLAMA2
                ? text.substring(1)   // Llama's decoder strips the space its normalizer prepends: so does transformers
                : text);
    }

    @Test
    void decodesSpecialTokensAsTextLikeTransformers() {
        // transformers 5.12.1 tok.decode(ids, skip_special_tokens=False) on the same ids
        assertThat(tok(LLAMA2, NONE).decode(new int[]{1, 403, 287, 388, 264})).isEqualTo("<s> Hello,");
        assertThat(tok(LLAMA2, NONE).decode(new int[]{1, 1, 277, 287, 388, 2, 317, 347, 294, 286}))
                .isEqualTo("<s><s>Hello</s> world");
        assertThat(tok(GPT2, LLAMA3).decode(new int[]{375, 64, 379, 65})).isEqualTo("<|begin_of_text|>a<|eot_id|>b");
    }

    @Test
    void vocabularySizesMatchTransformersLen() {
        // len(tokenizer) in transformers 5.12.1
        assertThat(tok(LLAMA2, NONE).vocabSize()).isEqualTo(429).isEqualTo(VOCAB.get(LLAMA2).get(NONE));
        assertThat(tok(LLAMA2, LLAMA3).vocabSize()).isEqualTo(434).isEqualTo(VOCAB.get(LLAMA2).get(LLAMA3));
        assertThat(tok(LLAMA2, QWEN).vocabSize()).isEqualTo(434).isEqualTo(VOCAB.get(LLAMA2).get(QWEN));
        assertThat(tok(GPT2, NONE).vocabSize()).isEqualTo(375).isEqualTo(VOCAB.get(GPT2).get(NONE));
        assertThat(tok(GPT2, LLAMA3).vocabSize()).isEqualTo(380).isEqualTo(VOCAB.get(GPT2).get(LLAMA3));
        assertThat(tok(GPT2, QWEN).vocabSize()).isEqualTo(379).isEqualTo(VOCAB.get(GPT2).get(QWEN));
    }

    @Test
    void specialTokensBosEosAndTokenStrings() {
        HfTokenizer llama = tok(LLAMA2, NONE);
        assertThat(llama.bosId()).isEqualTo(1);
        assertThat(llama.eosIds()).containsExactly(2);
        assertThat(llama.tokenString(0)).isEqualTo("<unk>");
        assertThat(llama.tokenString(3 + 0x0A)).isEqualTo("<0x0A>");
        assertThat(llama.tokenString(331)).isEqualTo("▁The");
        assertThat(llama.isSpecial(1)).isTrue();
        assertThat(llama.isSpecial(331)).isFalse();
        assertThat(llama.chatTemplate()).isNull();

        HfTokenizer qwen = tok(GPT2, QWEN);
        assertThat(qwen.bosId()).isEqualTo(-1);
        assertThat(qwen.eosIds()).containsExactly(TinyTokenizers.tokenId(GPT2, QWEN, "<|im_end|>"));
        assertThat(qwen.tokenString(282)).isEqualTo("ĠThe");
        assertThat(qwen.isSpecial(TinyTokenizers.tokenId(GPT2, QWEN, "<|im_start|>"))).isTrue();
        assertThat(qwen.isSpecial(TinyTokenizers.tokenId(GPT2, QWEN, "<think>"))).isFalse();
        assertThat(qwen.chatTemplate()).isNotNull();

        HfTokenizer llama3 = tok(GPT2, LLAMA3);
        assertThat(llama3.bosId()).isEqualTo(TinyTokenizers.tokenId(GPT2, LLAMA3, "<|begin_of_text|>"));
        assertThat(llama3.eosIds()).containsExactly(TinyTokenizers.tokenId(GPT2, LLAMA3, "<|eot_id|>"));
    }

    @Test
    void generationConfigAddsEosIds(@TempDir Path dir) throws IOException {
        TinyTokenizers.write(dir, GPT2, LLAMA3);
        int eot = TinyTokenizers.tokenId(GPT2, LLAMA3, "<|eot_id|>");
        int end = TinyTokenizers.tokenId(GPT2, LLAMA3, "<|end_of_text|>");
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [" + end + ", " + eot + "]}");
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertThat(t.eosIds()).containsExactly(eot, end);
        }
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": " + end + "}");
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertThat(t.eosIds()).containsExactly(eot, end);
        }
    }

    @Test
    void worksWithoutTokenizerConfig(@TempDir Path dir) throws IOException {
        TinyTokenizers.write(dir, GPT2, NONE);
        Files.delete(dir.resolve("tokenizer_config.json"));
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertThat(t.bosId()).isEqualTo(-1);
            assertThat(t.eosIds()).isEmpty();
            assertThat(t.chatTemplate()).isNull();
            assertThat(t.decode(t.encode("The dog"))).isEqualTo("The dog");
        }
    }

    @Test
    void chatTemplateAsNamedList(@TempDir Path dir) throws IOException {
        TinyTokenizers.write(dir, GPT2, NONE);
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "tool_use", "template": "tools"},
                                   {"name": "default", "template": "{{ messages[0].content }}!"}]}""");
        try (HfTokenizer t = HfTokenizer.load(dir)) {
            assertThat(t.chatTemplate().render(List.of(new io.specula.tokenizer.ChatMessage("user", "hi")), false))
                    .isEqualTo("hi!");
        }
    }

    @Test
    void missingTokenizerJsonNamesTheFile(@TempDir Path dir) {
        assertThatThrownBy(() -> HfTokenizer.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(dir.resolve("tokenizer.json").toString())
                .hasMessageContaining("missing");
    }

    @ParameterizedTest
    @EnumSource(Corruption.class)
    void corruptTokenizerJsonIsAModelFormatException(Corruption corruption, @TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("tokenizer.json"), corruption.json);
        assertThatThrownBy(() -> HfTokenizer.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tokenizer.json")
                .hasMessageContaining(corruption.expected);
    }

    enum Corruption {
        EMPTY("", "expected a JSON object"),
        NOT_JSON("this is not json", "not valid JSON"),
        TRUNCATED("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0", "not valid JSON"),
        ARRAY("[1, 2, 3]", "expected a JSON object"),
        NO_MODEL("{\"version\": \"1.0\"}", "\"model\""),
        NO_VOCAB("{\"model\": {\"type\": \"BPE\"}}", "model.vocab"),
        BAD_ID("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"zero\"}, \"merges\": []}}", "integer id"),
        BAD_ADDED("{\"added_tokens\": [{\"id\": 0}], \"model\": {\"type\": \"BPE\", \"vocab\": {}}}", "added_tokens"),
        UNKNOWN_MODEL("{\"model\": {\"type\": \"NoSuchModel\", \"vocab\": {\"a\": 0}}}", "tokenizers library"),
        BAD_MERGES("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": [\"a b\"]}}", "tokenizers library");

        final String json;
        final String expected;

        Corruption(String json, String expected) {
            this.json = json;
            this.expected = expected;
        }
    }

    @Test
    void corruptTokenizerConfigIsAModelFormatException(@TempDir Path dir) throws IOException {
        TinyTokenizers.write(dir, GPT2, NONE);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": [1, 2]}");
        assertThatThrownBy(() -> HfTokenizer.load(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tokenizer_config.json")
                .hasMessageContaining("bos_token");
    }

    @Test
    void fixturesAreDeterministic(@TempDir Path a, @TempDir Path b) throws IOException {
        for (TokenizerKind k : TokenizerKind.values()) {
            TinyTokenizers.write(a.resolve(k.name()), k, QWEN);
            TinyTokenizers.write(b.resolve(k.name()), k, QWEN);
            for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                assertThat(Files.readString(a.resolve(k.name()).resolve(f)))
                        .isEqualTo(Files.readString(b.resolve(k.name()).resolve(f)));
            }
        }
    }
}
