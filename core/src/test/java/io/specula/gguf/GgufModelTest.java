package io.specula.gguf;

import static io.specula.testing.Logits.argmax;
import static org.assertj.core.api.Assertions.assertThat;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.gguf.GgufWriter.TensorType;
import io.specula.kernel.WeightFormat;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.llama.LlamaModel;
import io.specula.model.safetensors.DType;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The same tiny model loaded from its Hugging Face directory and from the GGUF file {@code export-gguf} makes of it:
 * the GGUF path (reader, Hugging Face names, the llama q/k permutation undone, tied output, metadata hyperparameters)
 * must give the network the safetensors path gives.
 *
 * <ul>
 *   <li>GGUF stored at the checkpoint's precision (F32 from F32, F16 from F16, BF16 from BF16): the weights are the
 *       same numbers in the same formats, so every logit is <b>bit-identical</b> and so are the greedy ids, for every
 *       family but Llama 3. Llama 3's RoPE scaling comes from the GGUF as llama.cpp's per-frequency divisors
 *       ({@code rope_freqs}) instead of transformers' formula: the rotation angles differ in the last bits, logits
 *       by at most {@link #ROPE_FREQS_TOLERANCE}.</li>
 *   <li>F16 GGUF of an F32 checkpoint (weights rounded to half precision): logits within
 *       {@link #F16_TOLERANCE} of the F32 model's, greedy ids equal unless the F32 model's top-2 gap at the first
 *       difference is below {@link #F16_NEAR_TIE}.</li>
 * </ul>
 */
class GgufModelTest {

    static final int TOKENS = 24;
    static final float ROPE_FREQS_TOLERANCE = 2e-5f;
    static final float F16_TOLERANCE = 0.02f;
    static final float F16_NEAR_TIE = 0.05f;

    @TempDir
    Path tmp;

    static Stream<Arguments> families() {
        return Stream.of(
                Arguments.of("llama-f32", Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, false, DType.F32),
                Arguments.of("llama-tied-f16", Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, true, DType.F16),
                Arguments.of("llama3-bf16", Family.LLAMA3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.LLAMA3, false, DType.BF16),
                Arguments.of("mistral-f16", Family.MISTRAL, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, false, DType.F16),
                Arguments.of("qwen2-bf16-tied", Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, true, DType.BF16),
                Arguments.of("qwen3-f32", Family.QWEN3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, false, DType.F32));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void ggufAtTheCheckpointsPrecisionIsTheSameNetwork(String name, Family family, TokenizerKind tokenizer,
                                                        ChatTemplateKind template, boolean tied, DType dtype) {
        Path dir = TinyModelDirs.write(tmp.resolve(name), family, tokenizer, template,
                s -> s.tied(tied).dtype(dtype).seed(23));
        Path gguf = tmp.resolve(name + ".gguf");
        GgufExporter.export(dir, gguf, switch (dtype) {
            case F16 -> TensorType.F16;
            case BF16 -> TensorType.BF16;
            default -> TensorType.F32;
        });
        try (LoadedModel hf = ModelLoader.load(dir, "cpu", "auto", "auto");
             LoadedModel gg = ModelLoader.load(gguf, "cpu", "auto", "auto")) {
            assertThat(gg.config().vocabSize()).isEqualTo(hf.config().vocabSize());
            assertThat(gg.config().tieWordEmbeddings()).isEqualTo(tied);
            assertThat(gg.name()).isEqualTo(name);
            WeightFormat expected = switch (dtype) {
                case F16 -> WeightFormat.F16;
                case BF16 -> WeightFormat.BF16;
                default -> WeightFormat.F32;
            };
            assertThat(((LlamaModel) gg.model()).weights().toString()).contains(expected.name().toLowerCase(Locale.ROOT));
            int vocab = hf.config().vocabSize();
            int[] prompt = {5 % vocab, 77 % vocab, 31 % vocab, 140 % vocab, 9 % vocab};
            Run a = greedy(hf.model(), prompt);
            Run b = greedy(gg.model(), prompt);
            float tolerance = family == Family.LLAMA3 ? ROPE_FREQS_TOLERANCE : 0f;
            System.out.printf(Locale.ROOT, "%-16s greedy ids equal: %s; max |logit diff| over %d steps %.2e%n", name,
                    java.util.Arrays.equals(a.ids, b.ids), TOKENS, maxDiff(a.logits, b.logits));
            for (int i = 0; i < TOKENS; i++) {
                if (tolerance == 0) {
                    assertThat(b.logits[i]).as("%s step %d logits", name, i).containsExactly(a.logits[i]);
                } else {
                    assertThat(maxDiff(a.logits[i], b.logits[i])).as("%s step %d logits", name, i)
                            .isLessThanOrEqualTo(tolerance);
                }
            }
            assertThat(b.ids).as(name + " greedy ids").containsExactly(a.ids);
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void f16GgufOfAnF32CheckpointIsCloseAndDecodesAlike(String name, Family family, TokenizerKind tokenizer,
                                                         ChatTemplateKind template, boolean tied, DType ignored) {
        Path dir = TinyModelDirs.write(tmp.resolve(name), family, tokenizer, template, s -> s.tied(tied).seed(29));
        Path gguf = tmp.resolve(name + "-f16.gguf");
        GgufExporter.export(dir, gguf, TensorType.F16);
        try (LoadedModel hf = ModelLoader.load(dir, "cpu", "auto", "auto");
             LoadedModel gg = ModelLoader.load(gguf, "cpu", "auto", "auto")) {
            int vocab = hf.config().vocabSize();
            int[] prompt = {12 % vocab, 3 % vocab, 99 % vocab, 250 % vocab};
            Run a = greedy(hf.model(), prompt);
            Run b = greedy(gg.model(), prompt);
            int same = 0;
            while (same < TOKENS && a.ids[same] == b.ids[same]) {
                same++;
            }
            System.out.printf(Locale.ROOT, "%-16s f16 GGUF of f32: ids equal for %d/%d steps; first-step max |logit "
                    + "diff| %.2e%n", name, same, TOKENS, maxDiff(a.logits[0], b.logits[0]));
            assertThat(maxDiff(a.logits[0], b.logits[0])).as(name + " first-step logits").isLessThan(F16_TOLERANCE);
            if (same < TOKENS) {
                assertThat(a.gaps[same]).as("%s: ids differ at step %d where the f32 top-2 gap is %g", name, same,
                        a.gaps[same]).isLessThan(F16_NEAR_TIE);
            }
        }
    }

    /** Greedy decoding with each step's logits and top-2 gap. */
    record Run(int[] ids, float[][] logits, float[] gaps) {
    }

    static Run greedy(CausalLm m, int[] prompt) {
        return greedy(m, prompt, TOKENS, java.util.List.of());
    }

    /** Greedy decoding of {@code tokens} ids with the {@code banned} ids' logits set to minus infinity. */
    static Run greedy(CausalLm m, int[] prompt, int tokens, java.util.List<Integer> banned) {
        KvCache cache = m.newCache(prompt.length + tokens);
        float[] logits = m.forward(prompt, cache, 1)[0];
        int[] ids = new int[tokens];
        float[][] all = new float[tokens][];
        float[] gaps = new float[tokens];
        for (int i = 0; i < tokens; i++) {
            for (int b : banned) {
                logits[b] = Float.NEGATIVE_INFINITY;
            }
            all[i] = logits;
            int best = argmax(logits);
            float second = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < logits.length; j++) {
                if (j != best) {
                    second = Math.max(second, logits[j]);
                }
            }
            ids[i] = best;
            gaps[i] = logits[best] - second;
            if (i + 1 < tokens) {
                logits = m.forward(new int[] {best}, cache, 1)[0];
            }
        }
        return new Run(ids, all, gaps);
    }

    static float maxDiff(float[] a, float[] b) {
        float d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, Math.abs(a[i] - b[i]));
        }
        return d;
    }

    static float maxDiff(float[][] a, float[][] b) {
        float d = 0;
        for (int i = 0; i < a.length; i++) {
            d = Math.max(d, maxDiff(a[i], b[i]));
        }
        return d;
    }
}
