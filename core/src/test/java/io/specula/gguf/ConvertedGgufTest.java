package io.specula.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.generate.GenerationRequest;
import io.specula.generate.PlainGenerator;
import io.specula.generate.SamplingParams;
import io.specula.gguf.ConvertedGgufFixtures.Fixture;
import io.specula.gguf.GgufModelTest.Run;
import io.specula.model.JavaKernelModel;
import io.specula.model.ModelConfig;
import io.specula.model.ModelFormatException;
import io.specula.model.Quantization;
import io.specula.speculative.SpeculativeGenerator;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.policy.DraftPolicy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Gemma 3 and Phi-3 GGUF files written by llama.cpp's own converter ({@link ConvertedGgufFixtures}) load as the same
 * network as the Hugging Face directories they were converted from: the same hyperparameters as config.json gives
 * (layer pattern, windows, rope bases and scaling, longrope factors and attention factor, partial rotary, query scale,
 * softcapping, tying), weights in the checkpoint's format, and <b>bit-identical</b> logits over the prompt and 40
 * greedy steps (across Phi-4-mini's longrope switch at position 40 and Gemma's window of 4), hence the same ids.
 * Greedy speculative decoding with a GGUF target equals its plain greedy output. And llama.cpp computes the Gemma 3
 * file as the engine does (its recorded greedy ids, up to near-ties).
 */
class ConvertedGgufTest {

    static final int TOKENS = 40;
    /** A logit gap under which llama.cpp's BF16 arithmetic may choose the runner-up (measured: one step, 0.0148). */
    static final float LLAMA_CPP_NEAR_TIE = 0.05f;

    @TempDir
    Path tmp;

    static Stream<Fixture> fixtures() {
        return ConvertedGgufFixtures.ALL.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void theConvertersFileIsTheDirectorysNetwork(Fixture f) {
        Path dir = f.writeModel(tmp.resolve(f.name()));
        try (LoadedModel hf = ModelLoader.load(dir, "cpu", "auto", "auto");
             LoadedModel gg = ModelLoader.load(f.file(), "cpu", "auto", "auto")) {
            ModelConfig a = hf.config();
            ModelConfig b = gg.config();
            assertThat(b.architecture()).isEqualTo(a.architecture());
            for (int layer = 0; layer < a.numLayers(); layer++) {
                assertThat(b.windowOf(layer)).as("window of layer %d", layer).isEqualTo(a.windowOf(layer));
            }
            assertThat(b.rotaryDim()).isEqualTo(a.rotaryDim());
            assertThat(b.attentionScale()).isEqualTo(a.attentionScale());
            assertThat(b.ropeTheta()).isEqualTo(a.ropeTheta());
            assertThat(b.ropeLinearFactor()).isEqualTo(a.ropeLinearFactor());
            assertThat(b.finalLogitSoftcapping()).isEqualTo(a.finalLogitSoftcapping());
            assertThat(b.tieWordEmbeddings()).isEqualTo(a.tieWordEmbeddings());
            assertThat(b.vocabSize()).isEqualTo(a.vocabSize());
            if (a.architecture() == ModelConfig.Architecture.GEMMA3) {
                assertThat(b.ropeLocalTheta()).isEqualTo(a.ropeLocalTheta());
            }
            if (a.longRope() != null) {
                assertThat(b.longRope().originalMaxPositionEmbeddings())
                        .isEqualTo(a.longRope().originalMaxPositionEmbeddings());
                assertThat((float) b.longRope().attentionFactor()).isEqualTo((float) a.longRope().attentionFactor());
                assertThat(floats(b.longRope().longFactor())).containsExactly(floats(a.longRope().longFactor()));
                assertThat(floats(b.longRope().shortFactor())).containsExactly(floats(a.longRope().shortFactor()));
            } else {
                assertThat(b.longRope()).isNull();
            }
            String formats = ((JavaKernelModel) gg.model()).weights().toString();
            assertThat(formats).isEqualTo(((JavaKernelModel) hf.model()).weights().toString());

            int[] prompt = f.model().prompt();
            Run x = GgufModelTest.greedy(hf.model(), prompt, TOKENS, List.of());
            Run y = GgufModelTest.greedy(gg.model(), prompt, TOKENS, List.of());
            System.out.printf(Locale.ROOT, "%-22s weights %s; greedy ids equal: %s; max |logit diff| over %d steps "
                    + "%.2e%n", f.name(), formats, java.util.Arrays.equals(x.ids(), y.ids()), TOKENS,
                    GgufModelTest.maxDiff(x.logits(), y.logits()));
            for (int i = 0; i < TOKENS; i++) {
                assertThat(y.logits()[i]).as("%s step %d logits", f.name(), i).containsExactly(x.logits()[i]);
            }
            assertThat(y.ids()).containsExactly(x.ids());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void greedySpeculativeDecodingOfAGgufTargetIsItsOwnGreedyOutput(Fixture f) {
        // The drafter: the same file quantized to Q4_0 at load, right often and not always.
        try (LoadedModel target = ModelLoader.load(f.file(), "cpu", "auto", "auto");
             LoadedModel drafter = ModelLoader.load(f.file(), "cpu", "auto", "auto", Quantization.Q4_0)) {
            PlainGenerator plain = new PlainGenerator(target.model(), target.tokenizer(), List.of(), 100, null);
            long accepted = 0;
            long drafted = 0;
            for (int gamma : new int[] {2, 5}) {
                SpeculativeGenerator spec = new SpeculativeGenerator(target.model(), target.tokenizer(), List.of(),
                        100, new ModelDrafter("drafter", drafter.model()),
                        () -> new DraftPolicies().create(DraftPolicy.FIXED, gamma), null);
                GenerationRequest req = GenerationRequest.of(f.model().prompt(), 60, SamplingParams.GREEDY);
                var expected = plain.generate(req);
                var actual = spec.generate(req);
                assertThat(actual.tokenIds()).as("%s γ=%d", f.name(), gamma).containsExactly(expected.tokenIds());
                assertThat(actual.tokenIds()).hasSize(60);
                accepted += actual.stats().acceptedTokens();
                drafted += actual.stats().draftedTokens();
            }
            assertThat(accepted).as("accepted drafts").isPositive();
            assertThat(drafted).as("drafted tokens").isGreaterThan(accepted);
        }
    }

    /**
     * llama.cpp itself on the Gemma 3 file (llama-server b11669, greedy, recorded by the script): fed llama.cpp's own
     * ids one by one, the engine's argmax is llama.cpp's choice at every step but near-ties, where llama.cpp's
     * arithmetic (BF16 weights times activations rounded to BF16 on the CPU) may pick the runner-up: both the engine's
     * gap and llama.cpp's own top-2 log-probability gap must then be small.
     */
    @Test
    void llamaCppComputesTheGemma3FileAlike() throws java.io.IOException {
        Fixture f = ConvertedGgufFixtures.GEMMA3;
        com.google.gson.JsonObject rec = com.google.gson.JsonParser.parseString(
                java.nio.file.Files.readString(f.llamaCppResults())).getAsJsonObject();
        com.google.gson.JsonObject run = rec.getAsJsonArray("runs").get(0).getAsJsonObject();
        int[] prompt = ints(run.getAsJsonArray("prompt"));
        int[] ids = ints(run.getAsJsonArray("ids"));
        com.google.gson.JsonArray llamaGaps = run.getAsJsonArray("top2_logprob_gaps");
        int[] banned = ints(rec.getAsJsonArray("banned"));
        assertThat(prompt).containsExactly(f.prompt());
        assertThat(ids).hasSize(ConvertedGgufFixtures.LLAMA_CPP_TOKENS);
        assertThat(banned).containsExactly(f.llamaCppBanned().stream().mapToInt(Integer::intValue).toArray());
        try (LoadedModel gg = ModelLoader.load(f.file(), "cpu", "auto", "auto")) {
            var cache = gg.model().newCache(prompt.length + ids.length);
            float[] logits = gg.model().forward(prompt, cache, 1)[0];
            int agree = 0;
            for (int i = 0; i < ids.length; i++) {
                for (int b : banned) {
                    logits[b] = Float.NEGATIVE_INFINITY;
                }
                int ours = io.specula.testing.Logits.argmax(logits);
                if (ours == ids[i]) {
                    agree++;
                } else {
                    System.out.printf(Locale.ROOT, "%s step %d: engine %d (gap %.4f to llama.cpp's), llama.cpp %d "
                            + "(its top-2 log-prob gap %.4f)%n", f.name(), i, ours, logits[ours] - logits[ids[i]],
                            ids[i], llamaGaps.get(i).getAsDouble());
                    assertThat(logits[ours] - logits[ids[i]]).as("step %d: engine %d, llama.cpp %d", i, ours, ids[i])
                            .isLessThan(LLAMA_CPP_NEAR_TIE);
                    assertThat(llamaGaps.get(i).getAsDouble()).as("llama.cpp's own gap at step %d", i)
                            .isLessThan(LLAMA_CPP_NEAR_TIE);
                }
                logits = gg.model().forward(new int[] {ids[i]}, cache, 1)[0];
            }
            System.out.printf(Locale.ROOT, "%s: the engine's argmax is llama.cpp's greedy id at %d/%d steps%n",
                    f.name(), agree, ids.length);
            assertThat(agree).isGreaterThanOrEqualTo(ids.length - 3);
        }
    }

    private static int[] ints(com.google.gson.JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    @Test
    void settingsTheEngineCannotComputeAreRefusedByKey() {
        Path yarn = tmp.resolve("gemma3-yarn.gguf");
        GgufCopy.of(ConvertedGgufFixtures.GEMMA3.file()).putString("gemma3.rope.scaling.type", "yarn").write(yarn);
        assertThatThrownBy(() -> ModelLoader.load(yarn, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class).hasMessageStartingWith(yarn.toString())
                .hasMessageContaining("'gemma3.rope.scaling.type': 'yarn' RoPE scaling is not supported");
        Path odd = tmp.resolve("phi3-odd-rotary.gguf");
        GgufCopy.of(ConvertedGgufFixtures.PHI3.file()).putUInt32("phi3.rope.dimension_count", 15).write(odd);
        assertThatThrownBy(() -> ModelLoader.load(odd, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("'phi3.rope.dimension_count': 15 rotated dimensions");
        Path noOriginal = tmp.resolve("phi3-no-original.gguf");
        GgufCopy.of(ConvertedGgufFixtures.PHI3.file()).remove("phi3.rope.scaling.original_context_length")
                .write(noOriginal);
        assertThatThrownBy(() -> ModelLoader.load(noOriginal, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("metadata key 'phi3.rope.scaling.original_context_length' is missing");
        Path partial = tmp.resolve("phi3-factors.gguf");
        GgufCopy.of(ConvertedGgufFixtures.PHI3.file()).putUInt32("phi3.rope.dimension_count", 8).write(partial);
        assertThatThrownBy(() -> ModelLoader.load(partial, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("'rope_factors_short.weight' and 'rope_factors_long.weight'")
                .hasMessageContaining("expected 4 factors each");
    }

    private static float[] floats(List<Double> values) {
        float[] out = new float[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i).floatValue();
        }
        return out;
    }
}
