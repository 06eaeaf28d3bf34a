package io.specula.engine;

import io.specula.FieldError;
import io.specula.InvalidRequestException;
import io.specula.SpeculaException;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenSource;
import io.specula.testing.TinyModelDirs;
import io.specula.tokenizer.ChatMessage;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The engine end to end on real tiny model directories: loading, plain vs speculative decoding, errors. */
class SpeculaEngineTest {

    @TempDir
    static Path tmp;

    static SpeculaEngine withModelDrafter;
    static SpeculaEngine withNgram;

    @BeforeAll
    static void load() {
        Path target = TinyModelDirs.llama(tmp.resolve("target"), 1);
        Path drafter = TinyModelDirs.llamaDrafter(tmp.resolve("drafter"), 2);
        withModelDrafter = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()));
        withNgram = SpeculaEngine.load(EngineConfig.of(target, "ngram"));
    }

    @AfterAll
    static void close() {
        withModelDrafter.close();
        withNgram.close();
    }

    @Test
    void toolsForAModelWhoseTemplateRendersNoneAreRefusedNamingThem() {
        ChatRequest request = new ChatRequest(List.of(new io.specula.tokenizer.ChatMessage("user", "Weather?")),
                DecodingOptions.UNSET, null, List.of(new io.specula.tokenizer.ChatTool("weather", "d", "{}")));
        assertThatThrownBy(() -> withNgram.chat(request, null, () -> false))
            .isInstanceOf(io.specula.InvalidRequestException.class)
            .hasMessageContaining("tools: the model, which has no chat template, does not render tools")
            .hasMessageContaining("Qwen 2.5/3, Llama 3.1+");
    }

    @Test
    void speculativeGreedyOutputEqualsTargetOnlyOutput() {
        for (SpeculaEngine engine : List.of(withModelDrafter, withNgram)) {
            for (String prompt : List.of("The quick brown fox", "Hello, world! How are", "In the forest there")) {
                GenerationRequest request = GenerationRequest.of(engine.tokenizer().encode(prompt), 40,
                        SamplingParams.GREEDY);
                GenerationResult plain = engine.generate(request, SpeculationSettings.OFF, null);
                for (int gamma : new int[] {1, 3, 6}) {
                    for (DraftPolicy policy : List.of(DraftPolicy.FIXED, DraftPolicy.ADAPTIVE)) {
                        GenerationResult spec = engine.generate(request,
                                new SpeculationSettings(true, gamma, policy), null);
                        assertThat(spec.tokenIds()).as("%s γ=%d %s: %s", engine.info().drafterName(), gamma, policy,
                                prompt).containsExactly(plain.tokenIds());
                        assertThat(spec.text()).isEqualTo(plain.text());
                        assertThat(spec.finishReason()).isEqualTo(plain.finishReason());
                    }
                }
            }
        }
    }

    @Test
    void streamedDeltasConcatenateToTheTextAndNameTheirSource() {
        GenerationRequest request = GenerationRequest.of(withModelDrafter.tokenizer().encode("The dog"), 30,
                SamplingParams.GREEDY);
        StringBuilder streamed = new StringBuilder();
        List<TokenSource> sources = new ArrayList<>();
        GenerationResult r = withModelDrafter.generate(request, new SpeculationSettings(true, 4, DraftPolicy.FIXED),
                (id, delta, source) -> {
                    streamed.append(delta);
                    sources.add(source);
                });
        assertThat(streamed.toString()).isEqualTo(r.text());
        assertThat(sources).contains(TokenSource.TARGET);
        assertThat(r.stats().draftedTokens()).isPositive();
        assertThat(withModelDrafter.statistics().draftTokens()).isPositive();
    }

    @Test
    void aChatRequestTakesTheOnePathAndSpeculationKeepsItsOutput() {
        List<ChatMessage> conversation = List.of(new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "The quick brown fox"));
        DecodingOptions plain = new DecodingOptions(0.0, null, null, 24, null, null, null, null, false, null, null);
        DecodingOptions speculative = new DecodingOptions(0.0, null, null, 24, null, null, null, null, true, 4,
                DraftPolicy.FIXED);
        GenerationResult expected = withModelDrafter.chat(new ChatRequest(conversation, plain), null, () -> false);
        GenerationResult result = withModelDrafter.chat(new ChatRequest(conversation, speculative), null,
                () -> false);
        assertThat(result.tokenIds()).containsExactly(expected.tokenIds());
        assertThat(result.stats().speculative()).isTrue();
        assertThat(result.stats().draftedTokens()).isPositive();
        assertThat(expected.stats().speculative()).isFalse();
        assertThat(result.promptTokens()).isEqualTo(expected.promptTokens()).isPositive();
    }

    @Test
    void aChatRequestIsValidatedOnceWithEveryFieldNamed() {
        ChatRequest bad = new ChatRequest(List.of(), new DecodingOptions(-1.0, null, -2, null, null, null, null, null,
                null, 40, null));
        assertThatThrownBy(() -> withNgram.chat(bad, null, () -> false)).isInstanceOfSatisfying(
                InvalidRequestException.class, e -> assertThat(e.errors()).extracting(FieldError::field)
                    .containsExactly("prompt", "temperature", "topK", "draftTokens"));
    }

    @Test
    void djlPathGivesTheSameGreedyOutputAsTheJavaKernels() {
        Path target = tmp.resolve("target");
        try (SpeculaEngine djl = SpeculaEngine.load(EngineConfig.of(target, "ngram").withKernel("djl"))) {
            assertThat(djl.info().kernel()).isEqualTo("djl");
            GenerationRequest request = GenerationRequest.of(djl.tokenizer().encode("The quick brown fox"), 24,
                    SamplingParams.GREEDY);
            GenerationResult expected = withNgram.generate(request, SpeculationSettings.OFF, null);
            assertThat(djl.generate(request, SpeculationSettings.OFF, null).tokenIds())
                    .containsExactly(expected.tokenIds());
            assertThat(djl.generate(request, SpeculationSettings.DEFAULT, null).tokenIds())
                    .containsExactly(expected.tokenIds());
        }
    }

    @Test
    void badDeviceAndDtypeAreClearErrors() {
        Path target = tmp.resolve("target");
        assertThatThrownBy(() -> SpeculaEngine.load(new EngineConfig(target, null, "tpu", "auto", 0)))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("device").hasMessageContaining("tpu");
        assertThatThrownBy(() -> SpeculaEngine.load(new EngineConfig(target, null, "cpu", "float16", 0)))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("dtype");
    }

    @Test
    void loadErrorsNameTheSettingAtFault() throws Exception {
        Path target = tmp.resolve("target");
        Path other = TinyModelDirs.write(tmp.resolve("other-vocabulary"), TinyModels.Family.LLAMA,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.NONE, s -> s.seed(3));
        record Case(EngineConfig config, EngineLoadException.Setting setting) {
        }
        for (Case c : List.of(new Case(new EngineConfig(target, null, "tpu", "auto", 0), EngineLoadException.Setting.DEVICE),
                new Case(new EngineConfig(target, null, "cpu", "int3", 0), EngineLoadException.Setting.DTYPE),
                new Case(EngineConfig.of(tmp.resolve("nope"), DrafterChoice.NGRAM), EngineLoadException.Setting.TARGET),
                new Case(EngineConfig.of(target, DrafterChoice.model(tmp.resolve("nope"))),
                        EngineLoadException.Setting.DRAFTER),
                new Case(EngineConfig.of(target, DrafterChoice.model(other)), EngineLoadException.Setting.DRAFTER))) {
            assertThatThrownBy(() -> SpeculaEngine.load(c.config())).as(c.toString())
                    .isInstanceOfSatisfying(EngineLoadException.class,
                            e -> assertThat(e.setting()).isEqualTo(c.setting()));
        }
        assertThat(DrafterChoice.parse(" NGRAM ")).isEqualTo(DrafterChoice.NGRAM);
        assertThat(DrafterChoice.parse("")).isEqualTo(DrafterChoice.NONE);
        assertThat(DrafterChoice.parse("none")).isEqualTo(DrafterChoice.NONE);
        assertThat(DrafterChoice.parse("/models/d")).isEqualTo(DrafterChoice.model(Path.of("/models/d")));
    }

    @Test
    void infoNamesThePair() {
        assertThat(withModelDrafter.info().targetName()).isEqualTo("target");
        assertThat(withModelDrafter.info().drafterName()).isEqualTo("drafter");
        assertThat(withNgram.info().drafterName()).isEqualTo("ngram");
        assertThat(withNgram.hasDrafter()).isTrue();
    }

    @Test
    void missingTargetDirectoryIsAClearError() {
        assertThatThrownBy(() -> SpeculaEngine.load(EngineConfig.of(tmp.resolve("nope"), DrafterChoice.NONE)))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("nope");
    }

    @Test
    void drafterWithAnotherVocabularyIsRejectedAtLoad() throws Exception {
        Path other = TinyModelDirs.write(tmp.resolve("gpt2-drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.NONE, s -> s.seed(3));
        assertThatThrownBy(() -> SpeculaEngine.load(EngineConfig.of(tmp.resolve("target"), other.toString())))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("gpt2-drafter")
                .hasMessageContaining("target").hasMessageNotContaining("config.json");
        assertThat(Files.exists(other)).isTrue();
    }

    // Issue 19, item 3: extreme sampling parameters end to end, plain and speculative (model drafter and n-gram).
    // "temperature": 1e-320 passed validation and the answer was 20 x token 0 (<unk>): the distribution was NaN.

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
                            new SpeculationSettings(true, 4, DraftPolicy.FIXED), SpeculationSettings.DEFAULT)) {
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
