package io.specula.gguf;

import static io.specula.testing.Logits.argmax;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * llama.cpp as an independent oracle: each tiny fixture architecture is exported to GGUF by {@link GgufExporter},
 * loaded by llama.cpp (java-llama.cpp 4.2.0, llama.cpp b4916, CPU, float32 weights and KV cache, the same number of
 * threads as our kernels; Llama, tied Llama, Llama 3 with rope_freqs, Mistral and Qwen2, untied and tied), and decoded greedily from the same prompt token ids (no BOS on either side) next to our
 * engine.
 *
 * <ul>
 *   <li>Token ids: equal for {@link #TOKENS} steps. Random tiny models have near-ties, so a first difference is
 *       tolerated only at a step where our top-2 logit gap is below {@link #NEAR_TIE}, and only after at least
 *       {@link #MIN_EQUAL} equal tokens.</li>
 *   <li>Logits: java-llama.cpp gives no logits (see {@link LlamaCpp#hiddenDirection}), only the direction of the final
 *       hidden state. Compared: that unit vector against ours (max abs difference), and the logits it implies
 *       (llama.cpp's direction times the norm of our state, times the output matrix) against our logits.</li>
 * </ul>
 */
class LlamaCppOracleTest {

    static final int TOKENS = 48;
    static final int MIN_EQUAL = 32;
    static final float NEAR_TIE = 1e-3f;
    static final double DIRECTION_TOLERANCE = 1e-5;
    static final double LOGIT_TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    static Stream<Arguments> families() {
        return Stream.of(
                Arguments.of("llama", Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, false),
                Arguments.of("llama-tied", Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, true),
                Arguments.of("llama3", Family.LLAMA3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.LLAMA3, false),
                Arguments.of("mistral", Family.MISTRAL, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, false),
                Arguments.of("qwen2", Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, false),
                Arguments.of("qwen2-tied", Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, true));
        // Not Qwen3: the exporter writes it (GgufExporterTest), but java-llama.cpp 4.2.0 bundles llama.cpp b4916,
        // which predates the qwen3 architecture: "unknown model architecture: 'qwen3'".
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void greedyIdsAndLogitsMatchLlamaCpp(String name, Family family, TokenizerKind tokenizer,
                                         ChatTemplateKind template, boolean tied) throws Exception {
        Path dir = TinyModelDirs.write(tmp.resolve(name), family, tokenizer, template, s -> s.tied(tied).seed(11));
        GgufWriter w = GgufExporter.build(dir, GgufWriter.TensorType.F32);
        int eos = ((Number) w.metadata().get("tokenizer.ggml.eos_token_id").value()).intValue();
        int linefeed = LlamaCpp.useIdVocabulary(w);
        Path gguf = tmp.resolve(name + ".gguf");
        w.write(gguf);
        int threads = Runtime.getRuntime().availableProcessors();

        try (LoadedModel ours = ModelLoader.load(dir, "cpu", "float32", "auto");
             LlamaCpp llama = new LlamaCpp(gguf, threads, 512, linefeed)) {
            int vocab = ours.config().vocabSize();
            int[] prompt = {17 % vocab, 101 % vocab, 42 % vocab, 250 % vocab, 8 % vocab, 199 % vocab};
            assertThat(prompt).doesNotContain(eos);

            // Ours: greedy with the end-of-sequence id banned, as llama.cpp's ignore_eos does (logit bias -inf).
            CausalLm m = ours.model();
            KvCache cache = m.newCache(prompt.length + TOKENS);
            float[] logits = m.forward(prompt, cache, 1)[0];
            float[] firstLogits = logits.clone();
            int[] ourIds = new int[TOKENS];
            float[] gaps = new float[TOKENS];
            for (int i = 0; i < TOKENS; i++) {
                logits[eos] = Float.NEGATIVE_INFINITY;
                int best = argmax(logits);
                float second = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < logits.length; j++) {
                    if (j != best) {
                        second = Math.max(second, logits[j]);
                    }
                }
                ourIds[i] = best;
                gaps[i] = logits[best] - second;
                if (i + 1 < TOKENS) {
                    logits = m.forward(new int[] {best}, cache, 1)[0];
                }
            }
            int[] theirIds = llama.generate(prompt, TOKENS);
            assertThat(theirIds).hasSize(TOKENS);
            int firstDiff = 0;
            while (firstDiff < TOKENS && ourIds[firstDiff] == theirIds[firstDiff]) {
                firstDiff++;
            }
            if (firstDiff < TOKENS) {
                assertThat(gaps[firstDiff])
                        .as("%s: greedy ids differ at step %d (ours %d, llama.cpp %d) where our top-2 logit gap is %g,"
                                + " not a near-tie (< %g); ours %s, llama.cpp %s", name, firstDiff, ourIds[firstDiff],
                                theirIds[firstDiff], gaps[firstDiff], NEAR_TIE, Arrays.toString(ourIds),
                                Arrays.toString(theirIds))
                        .isLessThan(NEAR_TIE);
                assertThat(firstDiff).as("%s: a near-tie flip is only tolerated after %d equal tokens", name, MIN_EQUAL)
                        .isGreaterThanOrEqualTo(MIN_EQUAL);
            }

            // First step: the direction of the final hidden state, and the logits it implies.
            float[] ourState = OurHiddenState.after(dir, prompt);
            double norm = norm(ourState);
            float[] theirDirection = llama.hiddenDirection(prompt);
            double directionDiff = 0;
            for (int i = 0; i < ourState.length; i++) {
                directionDiff = Math.max(directionDiff, Math.abs(ourState[i] / norm - theirDirection[i]));
            }
            float[] out = new GgufReader(gguf).floats(tied ? "token_embd.weight" : "output.weight");
            int d = ourState.length;
            double logitDiff = 0;
            for (int v = 0; v < vocab; v++) {
                double s = 0;
                for (int k = 0; k < d; k++) {
                    s += (double) out[v * d + k] * theirDirection[k];
                }
                logitDiff = Math.max(logitDiff, Math.abs(s * norm - firstLogits[v]));
            }
            System.out.printf(Locale.ROOT, "%-10s ids equal for %d/%d tokens; final state direction max |diff| %.2e;"
                    + " first-step logits max |diff| %.2e (logit range %.1f)%n", name, firstDiff, TOKENS, directionDiff,
                    logitDiff, range(firstLogits));
            assertThat(directionDiff).as("%s: max |difference| of the final hidden state's direction", name)
                    .isLessThan(DIRECTION_TOLERANCE);
            assertThat(logitDiff).as("%s: max |difference| of the first-step logits", name)
                    .isLessThan(LOGIT_TOLERANCE);
        }
    }

    private static double norm(float[] x) {
        double s = 0;
        for (float v : x) {
            s += (double) v * v;
        }
        return Math.sqrt(s);
    }

    private static double range(float[] x) {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (float v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return hi - lo;
    }
}
