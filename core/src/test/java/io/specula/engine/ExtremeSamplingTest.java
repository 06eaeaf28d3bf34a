package io.specula.engine;

import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Extreme sampling parameters end to end through the engine on real tiny model directories, plain and speculative
 * (a model drafter and the n-gram drafter). Issue 19, item 3: {@code "temperature": 1e-320} passed validation and the
 * answer was 20 × token 0 ({@code <unk>}) because the processed distribution was NaN.
 */
class ExtremeSamplingTest {

    @TempDir
    static Path tmp;

    static SpeculaEngine withModelDrafter;
    static SpeculaEngine withNgram;

    @BeforeAll
    static void load() {
        Path target = TinyModelDirs.llama(tmp.resolve("target"), 1);
        Path drafter = TinyModelDirs.write(tmp.resolve("drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(2).layers(1).hiddenSize(32));
        withModelDrafter = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()));
        withNgram = SpeculaEngine.load(EngineConfig.of(target, "ngram"));
    }

    @AfterAll
    static void close() {
        withModelDrafter.close();
        withNgram.close();
    }

    static final List<String> PROMPTS = List.of("The quick brown fox", "Hello, world! How are", "In the forest there");

    /**
     * A positive temperature this small makes the target's distribution one-hot at its argmax (random tiny models
     * have no exact ties between their two largest logits), so sampling must give exactly the greedy answer, with and
     * without speculation.
     */
    @ParameterizedTest(name = "T = {0}")
    @ValueSource(doubles = {1e-320, Double.MIN_VALUE, 1e-300, 1e-45, 1e-39})
    void aTinyTemperatureSamplesTheGreedyAnswer(double temperature) {
        for (SpeculaEngine engine : List.of(withModelDrafter, withNgram)) {
            for (String prompt : PROMPTS) {
                int[] ids = engine.tokenizer().encode(prompt);
                GenerationResult greedy = engine.generate(GenerationRequest.of(ids, 20, SamplingParams.GREEDY),
                        SpeculationSettings.OFF, null);
                assertThat(greedy.tokenIds()).as("the greedy answer is not made of token 0")
                        .isNotEqualTo(new int[greedy.tokenIds().length]);
                for (long seed = 1; seed <= 3; seed++) {
                    GenerationRequest tiny = GenerationRequest.of(ids, 20,
                            new SamplingParams(temperature, 0, 1, seed, 0, 0));
                    for (SpeculationSettings speculation : List.of(SpeculationSettings.OFF,
                            new SpeculationSettings(true, 4, "fixed"), SpeculationSettings.DEFAULT)) {
                        GenerationResult sampled = engine.generate(tiny, speculation, null);
                        assertThat(sampled.tokenIds()).as("%s, T=%s, %s, seed %d: %s", engine.info().drafterName(),
                                temperature, speculation, seed, prompt).containsExactly(greedy.tokenIds());
                        assertThat(sampled.text()).isEqualTo(greedy.text());
                    }
                }
            }
        }
    }

    /**
     * A huge temperature flattens the distribution over every token: the answers must be real draws (many distinct
     * tokens, which differ between seeds), never a run of token 0, and top-k must still bound them.
     */
    @ParameterizedTest(name = "T = {0}")
    @ValueSource(doubles = {1e30, 1e300, Double.MAX_VALUE})
    void aHugeTemperatureSamplesFromTheWholeVocabulary(double temperature) {
        int vocab = withModelDrafter.tokenizer().vocabSize();
        int[] ids = withModelDrafter.tokenizer().encode(PROMPTS.get(0));
        for (SpeculaEngine engine : List.of(withModelDrafter, withNgram)) {
            for (SpeculationSettings speculation : List.of(SpeculationSettings.OFF, SpeculationSettings.DEFAULT)) {
                Set<Integer> seen = new HashSet<>();
                int[] previous = null;
                for (long seed = 1; seed <= 4; seed++) {
                    GenerationRequest request = new GenerationRequest(ids, 40,
                            new SamplingParams(temperature, 0, 1, seed, 0, 0), List.of(), List.of(-1), () -> false);
                    int[] out = engine.generate(request, speculation, null).tokenIds();
                    assertThat(out).hasSize(40);
                    assertThat(out).isNotEqualTo(previous);
                    Arrays.stream(out).forEach(seen::add);
                    assertThat(Arrays.stream(out).allMatch(t -> t >= 0 && t < vocab)).isTrue();
                    previous = out;
                }
                assertThat(seen).as("%s %s: distinct tokens in 160 draws from %d", engine.info().drafterName(),
                        speculation, vocab).hasSizeGreaterThan(60);
            }
        }
    }
}
