package io.specula.engine;

import io.specula.InvalidRequestException;
import io.specula.SpeculaException;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTemplate;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The engine's request path up to decoding, without a model: validation (every field at once, before any work), the
 * chat template or the plain format, the defaults of unset options, the context room and the max-tokens cap.
 */
class RequestPreparationTest {

    static final int CONTEXT = 256;

    final List<List<ChatMessage>> rendered = new ArrayList<>();

    final ChatTemplate template = (messages, addGenerationPrompt) -> {
        this.rendered.add(messages);
        return "<s>" + messages.size() + (addGenerationPrompt ? "|gen" : "");
    };

    FakeTokenizer tokenizer = new FakeTokenizer(this.template);

    RequestPreparation preparation(int maxTokensCap) {
        return new RequestPreparation(new PromptEncoder(this.tokenizer, false), new io.specula.generate.ContextWindow(CONTEXT),
                maxTokensCap, new io.specula.generate.structured.StructuredOutput(this.tokenizer));
    }

    RequestPreparation.Prepared prepare(ChatRequest request) {
        RequestPreparation preparation = preparation(0);
        preparation.validate(request);
        return preparation.prepare(request, () -> false);
    }

    static ChatRequest hi(DecodingOptions options) {
        return new ChatRequest(List.of(new ChatMessage("user", "Hi")), options);
    }

    static DecodingOptions options(Double temperature, Double topP, Integer topK, Integer maxTokens, List<String> stops,
            Double frequencyPenalty, Integer draftTokens) {
        return new DecodingOptions(temperature, topP, topK, maxTokens, stops, null, frequencyPenalty, null, null,
                draftTokens, null);
    }

    @Test
    void theConversationIsRenderedWithTheChatTemplate() {
        List<ChatMessage> conversation = List.of(new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi"),
                new ChatMessage("assistant", "Hello"), new ChatMessage("user", "Again"));
        RequestPreparation.Prepared prepared = prepare(new ChatRequest(conversation, DecodingOptions.UNSET));

        assertThat(this.rendered).containsExactly(conversation);
        // the template renders BOS itself: encoded without special tokens
        assertThat(this.tokenizer.encodedTexts).containsExactly("<s>4|gen");
        assertThat(this.tokenizer.addedSpecialTokens).containsExactly(false);
        assertThat(prepared.generation().promptIds()).hasSize("<s>4|gen".length());
    }

    @Test
    void withoutAChatTemplateThePlainFormatIsUsed() {
        this.tokenizer = new FakeTokenizer(null);
        prepare(new ChatRequest(List.of(new ChatMessage("system", "S"), new ChatMessage("user", "U1"),
                new ChatMessage("assistant", "A1"), new ChatMessage("user", "U2")), DecodingOptions.UNSET));
        assertThat(this.tokenizer.encodedTexts)
            .containsExactly("System: S\nUser: U1\nAssistant: A1\nUser: U2\nAssistant:");
        assertThat(this.tokenizer.addedSpecialTokens).containsExactly(true);
    }

    @Test
    void setOptionsReachTheGeneration() {
        DecodingOptions options = new DecodingOptions(0.0, null, 5, 33, List.of("\n\n"), 9L, null, null, true, 6,
                DraftPolicy.FIXED);
        RequestPreparation.Prepared prepared = prepare(hi(options));
        GenerationRequest request = prepared.generation();
        assertThat(request.maxTokens()).isEqualTo(33);
        assertThat(request.stopSequences()).containsExactly("\n\n");
        assertThat(request.sampling().temperature()).isZero();
        assertThat(request.sampling().topK()).isEqualTo(5);
        assertThat(request.sampling().topP()).isEqualTo(SamplingParams.DEFAULT_TOP_P);
        assertThat(request.sampling().seed()).isEqualTo(9L);
        assertThat(prepared.speculation()).isEqualTo(new SpeculationSettings(true, 6, DraftPolicy.FIXED));
    }

    @Test
    void unsetOptionsFallBackToDocumentedValuesAndTheRestOfTheContext() {
        GenerationRequest request = prepare(hi(DecodingOptions.UNSET)).generation();
        assertThat(request.sampling().temperature()).isEqualTo(SamplingParams.DEFAULT_TEMPERATURE);
        assertThat(request.sampling().topK()).isEqualTo(SamplingParams.DEFAULT_TOP_K);
        assertThat(request.sampling().seed()).isNull();
        assertThat(request.maxTokens()).isEqualTo(CONTEXT - request.promptIds().length);
        assertThat(prepare(hi(DecodingOptions.UNSET)).speculation()).isEqualTo(SpeculationSettings.DEFAULT);
        assertThat(DecodingOptions.UNSET.orElse(DecodingOptions.DEFAULTS)).isEqualTo(DecodingOptions.DEFAULTS);
    }

    @Test
    void anUnsetMaxTokensIsCappedByTheEngine() {
        RequestPreparation capped = preparation(16);
        assertThat(capped.prepare(hi(DecodingOptions.UNSET), () -> false).generation().maxTokens()).isEqualTo(16);
    }

    @Test
    void maxTokensOverTheCapIsAFieldError() {
        assertThatThrownBy(() -> preparation(16).validate(hi(options(null, null, null, 17, null, null, null))))
            .isInstanceOf(InvalidRequestException.class)
            .hasMessageStartingWith("maxTokens:")
            .hasMessageContaining("max-tokens-cap")
            .hasMessageContaining("16");
    }

    @Test
    void aPromptThatFillsTheContextIsRefused() {
        this.tokenizer = new FakeTokenizer(null);
        ChatRequest request = new ChatRequest(List.of(new ChatMessage("user", "x".repeat(300))), null);
        assertThatThrownBy(() -> prepare(request)).isInstanceOf(SpeculaException.class)
            .isNotInstanceOf(InvalidRequestException.class)
            .hasMessageContaining("context window of 256 tokens");
    }

    @Test
    void badInputIsRefusedWithAMessageNamingTheField() {
        record Case(String field, ChatRequest request) {
        }
        List<Case> cases = List.of(new Case("prompt", new ChatRequest(List.of(), null)),
                new Case("prompt", new ChatRequest(List.of(new ChatMessage("user", ""),
                        new ChatMessage("system", "  ")), null)),
                new Case("temperature", hi(options(-0.1, null, null, null, null, null, null))),
                new Case("temperature", hi(options(Double.NaN, null, null, null, null, null, null))),
                new Case("topP", hi(options(null, 0.0, null, null, null, null, null))),
                new Case("topP", hi(options(null, 1.01, null, null, null, null, null))),
                new Case("topP", hi(options(null, 1.5, null, null, null, null, null))),
                new Case("topK", hi(options(null, null, -1, null, null, null, null))),
                new Case("maxTokens", hi(options(null, null, null, 0, null, null, null))),
                new Case("maxTokens", hi(options(null, null, null, -5, null, null, null))),
                new Case("draftTokens", hi(options(null, null, null, null, null, null, 0))),
                new Case("draftTokens", hi(options(null, null, null, null, null, null, 17))),
                new Case("draftTokens", hi(options(null, null, null, null, null, null, 40))),
                new Case("frequencyPenalty", hi(options(null, null, null, null, null, Double.NaN, null))),
                new Case("stopSequences[0]", hi(options(null, null, null, null, List.of(""), null, null))),
                new Case("stopSequences[0]", hi(options(null, null, null, null, List.of("s".repeat(129)), null,
                        null))),
                new Case("stopSequences", hi(options(null, null, null, null, java.util.stream.IntStream.range(0, 17)
                    .mapToObj(i -> "stop" + i).toList(), null, null))));
        for (Case c : cases) {
            assertThatThrownBy(() -> prepare(c.request())).as(c.field())
                .isInstanceOf(InvalidRequestException.class)
                .hasMessageStartingWith(c.field() + ":");
        }
        // refused before the template and the tokenizer did any work
        assertThat(this.tokenizer.encodedTexts).isEmpty();
    }

    @Test
    void everyFieldAtFaultIsReportedAtOnce() {
        ChatRequest request = new ChatRequest(List.of(),
                options(-1.0, 2.0, -1, 0, List.of("x", ""), Double.POSITIVE_INFINITY, 17));
        assertThatThrownBy(() -> preparation(0).validate(request)).isInstanceOfSatisfying(
                InvalidRequestException.class, e -> assertThat(e.errors()).extracting(f -> f.field())
                    .containsExactly("prompt", "temperature", "topP", "topK", "frequencyPenalty", "maxTokens",
                            "stopSequences[1]", "draftTokens"));
    }

    @Test
    void stopSequencesAreBoundedInNumberAndLengthAndTheErrorsToo() {
        List<String> many = new java.util.ArrayList<>();
        for (int i = 0; i < 100_000; i++) {
            many.add(i % 2 == 0 ? "" : "x".repeat(1000) + i);
        }
        assertThatThrownBy(() -> preparation(0).validate(hi(options(null, null, null, null, many, null, null))))
            .isInstanceOfSatisfying(InvalidRequestException.class, e -> {
                assertThat(e.errors().get(0).field()).isEqualTo("stopSequences");
                assertThat(e.errors().get(0).message()).contains("at most 16 sequences, got 50001");
                // one error per sequence at fault, at most 16 of them: the error does not grow with the request
                assertThat(e.errors()).hasSize(1 + 16);
                assertThat(e.getMessage().length()).isLessThan(2000);
            });
        // 16 sequences of 128 characters pass
        preparation(0).validate(hi(options(null, null, null, null, java.util.stream.IntStream.range(0, 16)
            .mapToObj(i -> String.valueOf((char) ('a' + i)).repeat(128)).toList(), null, null)));
    }

    @Test
    void aStopSequenceListedTwiceIsKeptOnce() {
        assertThat(options(null, null, null, null, List.of("A", "B", "A"), null, null).stopSequences())
            .containsExactly("A", "B");
    }
}
