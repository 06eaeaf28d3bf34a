package io.specula.quantized;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.generate.SamplingParams;
import io.specula.model.Quantization;
import io.specula.model.JavaKernelModel;
import io.specula.speculative.SpeculativeGenerator;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.testing.GoldenFixtures;
import io.specula.testing.GoldenFixtures.Fixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Greedy speculative decoding with a quantized target produces exactly the tokens that the same quantized target
 * produces alone, for every architecture of the golden fixtures (Llama untied and tied, Llama 3 with rope scaling,
 * Mistral with a sliding window, Qwen2 with biases, Qwen3 with q/k norms), every quantization, on the Vector API and
 * the scalar kernels. The drafter is the same model in another format, so it is right often but not always: both
 * accepted and rejected drafts, and verification passes of 2 to 6 positions, are exercised. This holds only because
 * the kernels are batch-invariant (a position's logits do not depend on how many positions a pass scores).
 */
class QuantizedSpeculationTest {

    @TempDir
    static Path tmp;

    private static final Map<String, Path> DIRS = new HashMap<>();
    private static final Map<String, LoadedModel> MODELS = new HashMap<>();

    static synchronized LoadedModel model(String fixture, Quantization q, String kernel) {
        Path dir = DIRS.computeIfAbsent(fixture, n -> GoldenFixtures.named(n).writeTo(tmp.resolve(n)));
        return MODELS.computeIfAbsent(fixture + "/" + q + "/" + kernel, k -> ModelLoader.load(dir, "cpu", "auto",
                kernel, q));
    }

    @AfterAll
    static void close() {
        MODELS.values().forEach(LoadedModel::close);
    }

    static Stream<Arguments> cases() {
        return GoldenFixtures.all().stream().map(Fixture::name).flatMap(f -> Stream.of(
                Arguments.of(f, Quantization.NONE, Quantization.Q4_0, "vector"),
                Arguments.of(f, Quantization.Q8_0, Quantization.Q4_0, "vector"),
                Arguments.of(f, Quantization.Q4_0, Quantization.Q8_0, "vector"),
                Arguments.of(f, Quantization.Q4_1, Quantization.Q4_0, "vector"),
                Arguments.of(f, Quantization.Q4_1, Quantization.Q4_0, "scalar")));
    }

    @ParameterizedTest(name = "{0}: target {1}, drafter {2}, {3}")
    @MethodSource("cases")
    void greedySpeculativeOutputIsTheQuantizedTargetsOwn(String fixture, Quantization targetQ, Quantization drafterQ,
                                                         String kernel) {
        LoadedModel target = model(fixture, targetQ, kernel);
        LoadedModel drafter = model(fixture, drafterQ, kernel);
        assertThat(((JavaKernelModel) target.model()).quantization()).isEqualTo(targetQ);
        int context = 200;
        PlainGenerator plain = new PlainGenerator(target.model(), target.tokenizer(), List.of(), context, null);
        SplittableRandom r = new SplittableRandom(fixture.hashCode());
        long accepted = 0;
        long drafted = 0;
        for (int gamma : new int[] {1, 3, 5}) {
            SpeculativeGenerator spec = new SpeculativeGenerator(target.model(), target.tokenizer(), List.of(),
                    context, new ModelDrafter("drafter", drafter.model()),
                    () -> new DraftPolicies().create(DraftPolicy.FIXED, gamma), null);
            for (int i = 0; i < 2; i++) {
                int[] prompt = GoldenFixtures.named(fixture).prompt().clone();
                prompt[prompt.length - 1] = 3 + r.nextInt(target.model().vocabSize() - 16);
                GenerationRequest req = GenerationRequest.of(prompt, 40, SamplingParams.GREEDY);
                GenerationResult expected = plain.generate(req);
                GenerationResult actual = spec.generate(req);
                assertThat(actual.tokenIds()).as("%s, target %s, drafter %s, γ=%d, %s kernel", fixture, targetQ,
                        drafterQ, gamma, kernel).containsExactly(expected.tokenIds());
                accepted += actual.stats().acceptedTokens();
                drafted += actual.stats().draftedTokens();
            }
        }
        // the drafter in another format agrees often, but not always: both paths of verification ran
        assertThat(accepted).as("accepted drafts").isPositive();
        assertThat(drafted).as("drafted tokens").isGreaterThan(accepted);
    }
}
