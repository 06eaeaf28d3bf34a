package io.specula.chat;

import java.time.Duration;
import io.specula.speculative.policy.DraftPolicy;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.specula.SpeculaException;
import io.specula.engine.EngineInfo;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.TokenSource;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTemplate;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.SystemMessage;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.MessageAggregator;
import org.springframework.ai.chat.observation.ChatModelObservationDocumentation.LowCardinalityKeyNames;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.content.Media;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;
import org.springframework.ai.tool.definition.ToolDefinition;
import org.springframework.util.MimeTypeUtils;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;
import static org.mockito.BDDMockito.willAnswer;
import static org.mockito.BDDMockito.willReturn;
import static org.mockito.BDDMockito.willThrow;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.verify;

/**
 * The Spring AI binding over a mocked engine: rendering, option resolution, metadata, streaming, cancellation and
 * observations. (The end-to-end path over real tiny models is covered by the auto-configuration's integration test.)
 */
class SpeculaChatModelTests {

    static final EngineInfo INFO = new EngineInfo("tiny-target", "tiny-drafter", "cpu", "float32", "scalar", 256);

    static final DecodingStats STATS = new DecodingStats(4, 3, 9, 6, new long[] { 3, 2, 1 }, new long[] { 3, 3, 3 },
            10, 1_000_000, 2_000_000, 3_000_000, 10_000_000);

    final List<List<ChatMessage>> rendered = new ArrayList<>();

    final ChatTemplate template = (messages, addGenerationPrompt) -> {
        this.rendered.add(messages);
        return "<s>" + messages.size() + (addGenerationPrompt ? "|gen" : "");
    };

    SpeculaEngine engine;

    FakeTokenizer tokenizer;

    final AtomicReference<GenerationRequest> lastRequest = new AtomicReference<>();

    final AtomicReference<SpeculationSettings> lastSpeculation = new AtomicReference<>();

    @BeforeEach
    void setUp() {
        this.tokenizer = new FakeTokenizer(this.template);
        this.engine = mock(SpeculaEngine.class);
        given(this.engine.info()).willReturn(INFO);
        given(this.engine.tokenizer()).willReturn(this.tokenizer);
        given(this.engine.hasDrafter()).willReturn(true);
        script("Hello", TokenSource.TARGET, "", TokenSource.DRAFTER, " wörld", TokenSource.DRAFTER, "!",
                TokenSource.TARGET);
    }

    /** The engine emits (delta, source) pairs and finishes with STOP. */
    void script(Object... deltasAndSources) {
        willAnswer(invocation -> {
            GenerationRequest request = invocation.getArgument(0);
            this.lastRequest.set(request);
            this.lastSpeculation.set(invocation.getArgument(1));
            GenerationListener listener = invocation.getArgument(2);
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < deltasAndSources.length; i += 2) {
                String delta = (String) deltasAndSources[i];
                listener.onToken(10 + i, delta, (TokenSource) deltasAndSources[i + 1]);
                text.append(delta);
            }
            return new GenerationResult(new int[deltasAndSources.length / 2], text.toString(), FinishReason.STOP,
                    request.promptIds().length, STATS);
        }).given(this.engine).generate(any(), any(), any());
    }

    SpeculaChatModel model(SpeculaChatOptions defaults) {
        return SpeculaChatModel.builder().engine(this.engine).options(defaults).build();
    }

    @Test
    void callRendersTheConversationWithTheChatTemplate() {
        ChatResponse response = model(SpeculaChatOptions.builder().build()).call(new Prompt(List.of(
                new SystemMessage("Be brief."), new UserMessage("Hi"), new AssistantMessage("Hello"),
                new UserMessage("Again"))));

        assertThat(this.rendered).hasSize(1);
        assertThat(this.rendered.get(0)).containsExactly(new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"), new ChatMessage("user", "Again"));
        // the template renders BOS itself: encoded without special tokens
        assertThat(this.tokenizer.encodedTexts).containsExactly("<s>4|gen");
        assertThat(this.tokenizer.addedSpecialTokens).containsExactly(false);
        assertThat(this.lastRequest.get().promptIds()).hasSize("<s>4|gen".length());
        assertThat(response.getResult().getOutput().getText()).isEqualTo("Hello wörld!");
    }

    @Test
    void withoutAChatTemplateThePlainFormatIsUsed() {
        this.tokenizer = new FakeTokenizer(null);
        given(this.engine.tokenizer()).willReturn(this.tokenizer);
        model(SpeculaChatOptions.builder().build()).call(new Prompt(List.of(new SystemMessage("S"),
                new UserMessage("U1"), new AssistantMessage("A1"), new UserMessage("U2"))));
        assertThat(this.tokenizer.encodedTexts)
            .containsExactly("System: S\nUser: U1\nAssistant: A1\nUser: U2\nAssistant:");
        assertThat(this.tokenizer.addedSpecialTokens).containsExactly(true);
    }

    @Test
    void callReturnsFinishReasonUsageAndSpeculativeStatistics() {
        ChatResponse response = model(SpeculaChatOptions.builder().build()).call(new Prompt("Hi"));

        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat(response.getMetadata().getModel()).isEqualTo("tiny-target");
        assertThat(response.getMetadata().getUsage().getPromptTokens()).isEqualTo("<s>1|gen".length());
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isEqualTo(4);
        var generationMetadata = response.getResult().getMetadata();
        assertThat((Boolean) generationMetadata.get(SpeculaChatMetadata.SPECULATIVE)).isTrue();
        assertThat((String) generationMetadata.get(SpeculaChatMetadata.DRAFT_MODEL)).isEqualTo("tiny-drafter");
        assertThat((Long) generationMetadata.get(SpeculaChatMetadata.DRAFTS)).isEqualTo(3L);
        assertThat((Long) generationMetadata.get(SpeculaChatMetadata.DRAFTED_TOKENS)).isEqualTo(9L);
        assertThat((Long) generationMetadata.get(SpeculaChatMetadata.ACCEPTED_TOKENS)).isEqualTo(6L);
        assertThat((Double) generationMetadata.get(SpeculaChatMetadata.ACCEPTANCE_RATE)).isEqualTo(6.0 / 9);
        assertThat((Double) generationMetadata.get(SpeculaChatMetadata.MEAN_ACCEPTANCE_LENGTH)).isEqualTo(3.0);
        assertThat(response.getResult().getOutput().getMetadata()).containsEntry(SpeculaChatMetadata.DRAFTS, 3L)
            .containsEntry(SpeculaChatMetadata.ACCEPTANCE_RATE, 6.0 / 9);
    }

    @Test
    void lengthFinishReasonIsReported() {
        willReturn(new GenerationResult(new int[] { 5, 6 }, "ab", FinishReason.LENGTH, 3, DecodingStats.EMPTY))
            .given(this.engine).generate(any(), any(), any());
        ChatResponse response = model(SpeculaChatOptions.builder().build()).call(new Prompt("Hi"));
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
        assertThat((Double) response.getResult().getMetadata().get(SpeculaChatMetadata.ACCEPTANCE_RATE)).isZero();
    }

    @Test
    void defaultsApplyWhenThePromptHasNoOptions() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().temperature(0.0).topK(5).maxTokens(33)
            .stopSequences(List.of("\n\n")).seed(9L).speculative(true).draftTokens(6).draftPolicy(DraftPolicy.FIXED).build());
        model.call(new Prompt("Hi"));

        GenerationRequest request = this.lastRequest.get();
        assertThat(request.maxTokens()).isEqualTo(33);
        assertThat(request.stopSequences()).containsExactly("\n\n");
        assertThat(request.sampling().temperature()).isZero();
        assertThat(request.sampling().topK()).isEqualTo(5);
        assertThat(request.sampling().topP()).isEqualTo(SpeculaChatModel.DEFAULT_TOP_P);
        assertThat(request.sampling().seed()).isEqualTo(9L);
        assertThat(this.lastSpeculation.get()).isEqualTo(new SpeculationSettings(true, 6, DraftPolicy.FIXED));
        assertThat(model.getOptions().getModel()).isEqualTo("tiny-target");
    }

    @Test
    void unsetDefaultsFallBackToDocumentedValuesAndTheRestOfTheContext() {
        model(SpeculaChatOptions.builder().build()).call(new Prompt("Hi"));
        GenerationRequest request = this.lastRequest.get();
        assertThat(request.sampling().temperature()).isEqualTo(SpeculaChatModel.DEFAULT_TEMPERATURE);
        assertThat(request.sampling().topK()).isEqualTo(SpeculaChatModel.DEFAULT_TOP_K);
        assertThat(request.sampling().seed()).isNull();
        assertThat(request.maxTokens()).isEqualTo(INFO.contextLength() - request.promptIds().length);
        assertThat(this.lastSpeculation.get()).isEqualTo(SpeculationSettings.DEFAULT);
    }

    @Test
    void promptOptionsOverrideTheDefaultsFieldByField() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().temperature(0.2).topP(0.8).maxTokens(50)
            .stopSequences(List.of("A")).draftTokens(6).draftPolicy(DraftPolicy.FIXED).build());
        model.call(new Prompt("Hi", SpeculaChatOptions.builder().temperature(0.9).stopSequences(List.of("B"))
            .speculative(false).build()));

        GenerationRequest request = this.lastRequest.get();
        assertThat(request.sampling().temperature()).isEqualTo(0.9);
        assertThat(request.sampling().topP()).isEqualTo(0.8);
        assertThat(request.maxTokens()).isEqualTo(50);
        assertThat(request.stopSequences()).containsExactly("B");
        assertThat(this.lastSpeculation.get()).isEqualTo(new SpeculationSettings(false, 6, DraftPolicy.FIXED));
    }

    @Test
    void portableOptionsOfAnotherKindAreAccepted() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().draftTokens(5).build());
        model.call(new Prompt("Hi", ChatOptions.builder().topK(3).maxTokens(7).build()));
        assertThat(this.lastRequest.get().sampling().topK()).isEqualTo(3);
        assertThat(this.lastRequest.get().maxTokens()).isEqualTo(7);
        assertThat(this.lastSpeculation.get().draftTokens()).isEqualTo(5);
    }

    @Test
    void invalidOptionsFailWithAMessageNamingTheOption() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        assertThatThrownBy(() -> model.call(new Prompt("Hi", SpeculaChatOptions.builder().topP(1.5).build())))
            .isInstanceOf(SpeculaException.class)
            .hasMessageContaining("topP");
        assertThatThrownBy(() -> model.call(new Prompt("Hi", SpeculaChatOptions.builder().draftTokens(40).build())))
            .isInstanceOf(SpeculaException.class)
            .hasMessageContaining("draftTokens");
    }

    @Test
    void badInputIsRefusedWithAMessageNamingTheField() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        record Case(String field, Prompt prompt) {
        }
        List<Case> cases = List.of(new Case("prompt", new Prompt(List.<Message>of())),
                new Case("prompt", new Prompt(List.of(new UserMessage(""), new SystemMessage("  ")))),
                new Case("temperature", new Prompt("Hi", SpeculaChatOptions.builder().temperature(-0.1).build())),
                new Case("temperature",
                        new Prompt("Hi", SpeculaChatOptions.builder().temperature(Double.NaN).build())),
                new Case("topP", new Prompt("Hi", SpeculaChatOptions.builder().topP(0.0).build())),
                new Case("topP", new Prompt("Hi", SpeculaChatOptions.builder().topP(1.01).build())),
                new Case("topK", new Prompt("Hi", SpeculaChatOptions.builder().topK(-1).build())),
                new Case("maxTokens", new Prompt("Hi", SpeculaChatOptions.builder().maxTokens(0).build())),
                new Case("maxTokens", new Prompt("Hi", SpeculaChatOptions.builder().maxTokens(-5).build())),
                new Case("draftTokens", new Prompt("Hi", SpeculaChatOptions.builder().draftTokens(0).build())),
                new Case("draftTokens", new Prompt("Hi", SpeculaChatOptions.builder().draftTokens(17).build())),
                new Case("frequencyPenalty",
                        new Prompt("Hi", SpeculaChatOptions.builder().frequencyPenalty(Double.NaN).build())),
                new Case("stopSequences[0]",
                        new Prompt("Hi", SpeculaChatOptions.builder().stopSequences(List.of("")).build())));
        for (Case c : cases) {
            assertThatThrownBy(() -> model.call(c.prompt())).as(c.field())
                .isInstanceOf(SpeculaException.class)
                .hasMessageStartingWith(c.field() + ":");
            StepVerifier.create(model.stream(c.prompt()))
                .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(SpeculaException.class)
                    .hasMessageStartingWith(c.field() + ":"))
                .verify(Duration.ofSeconds(5));
        }
        verify(this.engine, never()).generate(any(), any(), any());
        // A policy is typed: the name a user writes is refused when it is parsed.
        assertThatThrownBy(() -> DraftPolicy.parse("greedy")).isInstanceOf(SpeculaException.class)
            .hasMessageStartingWith("draftPolicy:");
    }

    @Test
    void anUnsetMaxTokensIsCappedByTheEngine() {
        given(this.engine.maxTokensCap()).willReturn(16);
        model(SpeculaChatOptions.builder().build()).call(new Prompt("Hi"));
        assertThat(this.lastRequest.get().maxTokens()).isEqualTo(16);
    }

    @Test
    void aPromptThatFillsTheContextIsRefused() {
        this.tokenizer = new FakeTokenizer(null);
        given(this.engine.tokenizer()).willReturn(this.tokenizer);
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        assertThatThrownBy(() -> model.call(new Prompt("x".repeat(300)))).isInstanceOf(SpeculaException.class)
            .hasMessageContaining("context window of 256 tokens");
    }

    @Test
    void toolCallbacksAreRefused() {
        ToolCallback tool = mock(ToolCallback.class);
        given(tool.getToolDefinition())
            .willReturn(ToolDefinition.builder().name("weather").description("d").inputSchema("{}").build());
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        Prompt prompt = new Prompt("Hi", ToolCallingChatOptions.builder().toolCallbacks(tool).build());
        assertThatThrownBy(() -> model.call(prompt)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("does not support tool calling");
        assertThatThrownBy(() -> model.stream(prompt)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("does not support tool calling");
        verify(this.engine, never()).generate(any(), any(), any());
    }

    @Test
    void toolMessagesAndMediaAreRefused() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        ToolResponseMessage toolResponse = ToolResponseMessage.builder()
            .responses(List.of(new ToolResponseMessage.ToolResponse("1", "weather", "sunny")))
            .build();
        assertThatThrownBy(() -> model.call(new Prompt(List.of(new UserMessage("Hi"), toolResponse))))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("tool response");
        UserMessage withImage = UserMessage.builder().text("What is this?")
            .media(new Media(MimeTypeUtils.IMAGE_PNG, new org.springframework.core.io.ByteArrayResource(new byte[] { 1 })))
            .build();
        assertThatThrownBy(() -> model.call(new Prompt(withImage))).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("text only");
    }

    @Test
    void streamEmitsOneChunkPerTextDeltaWithItsTokenSources() {
        List<ChatResponse> chunks = model(SpeculaChatOptions.builder().build()).stream(new Prompt("Hi"))
            .collectList()
            .block(Duration.ofSeconds(10));

        assertThat(chunks).hasSize(4);
        assertThat(chunks.stream().map(c -> c.getResult().getOutput().getText()))
            .containsExactly("Hello", " wörld", "!", "");
        // the empty delta (a partial character) hands its source on to the next chunk
        assertThat(sources(chunks.get(0))).containsExactly("TARGET");
        assertThat(sources(chunks.get(1))).containsExactly("DRAFTER", "DRAFTER");
        assertThat(sources(chunks.get(2))).containsExactly("TARGET");
        assertThat(chunks.get(0).getResult().getMetadata().getFinishReason()).isNull();

        ChatResponse last = chunks.get(3);
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat(last.getMetadata().getUsage().getCompletionTokens()).isEqualTo(4);
        assertThat((Long) last.getResult().getMetadata().get(SpeculaChatMetadata.ACCEPTED_TOKENS)).isEqualTo(6L);
        assertThat(chunks.stream().map(c -> c.getMetadata().getId()).distinct()).hasSize(1);
    }

    @Test
    void aggregatedStreamKeepsStatisticsAndUsage() {
        AtomicReference<ChatResponse> aggregated = new AtomicReference<>();
        new MessageAggregator().aggregate(model(SpeculaChatOptions.builder().build()).stream(new Prompt("Hi")),
                aggregated::set).blockLast(Duration.ofSeconds(10));
        ChatResponse response = aggregated.get();
        assertThat(response.getResult().getOutput().getText()).isEqualTo("Hello wörld!");
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat((Double) response.getResult().getMetadata().get(SpeculaChatMetadata.MEAN_ACCEPTANCE_LENGTH))
            .isEqualTo(3.0);
        assertThat(response.getResult().getOutput().getMetadata()).containsKey(SpeculaChatMetadata.DRAFTED_TOKENS);
        assertThat(response.getMetadata().getUsage().getTotalTokens()).isEqualTo("<s>1|gen".length() + 4);
    }

    @Test
    void streamErrorsReachTheSubscriber() {
        willThrow(new SpeculaException("boom")).given(this.engine).generate(any(), any(), any());
        StepVerifier.create(model(SpeculaChatOptions.builder().build()).stream(new Prompt("Hi")))
            .expectErrorMessage("boom")
            .verify(Duration.ofSeconds(10));
    }

    @Test
    void cancellingTheStreamStopsTheEngine() throws InterruptedException {
        CountDownLatch finished = new CountDownLatch(1);
        AtomicBoolean sawCancel = new AtomicBoolean();
        AtomicReference<String> thread = new AtomicReference<>();
        willAnswer(invocation -> {
            thread.set(Thread.currentThread().getName());
            GenerationRequest request = invocation.getArgument(0);
            GenerationListener listener = invocation.getArgument(2);
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                int n = 0;
                while (System.nanoTime() < deadline) {
                    if (request.cancelled().getAsBoolean()) {
                        sawCancel.set(true);
                        return new GenerationResult(new int[n], "", FinishReason.CANCELLED, 1, DecodingStats.EMPTY);
                    }
                    listener.onToken(n++, "x", TokenSource.TARGET);
                    Thread.sleep(1);
                }
                return new GenerationResult(new int[n], "", FinishReason.LENGTH, 1, DecodingStats.EMPTY);
            }
            finally {
                finished.countDown();
            }
        }).given(this.engine).generate(any(), any(), any());

        List<ChatResponse> first = model(SpeculaChatOptions.builder().build()).stream(new Prompt("Hi"))
            .take(3)
            .collectList()
            .block(Duration.ofSeconds(10));

        assertThat(first).hasSize(3);
        assertThat(finished.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(sawCancel).isTrue();
        assertThat(thread.get()).startsWith("boundedElastic");
    }

    @Test
    void callIsObservedLikeEverySpringAiChatModel() {
        TestObservationRegistry registry = TestObservationRegistry.create();
        SpeculaChatModel model = SpeculaChatModel.builder().engine(this.engine).observationRegistry(registry).build();
        model.call(new Prompt("Hi"));

        TestObservationRegistryAssert.assertThat(registry)
            .doesNotHaveAnyRemainingCurrentObservation()
            .hasObservationWithNameEqualTo("gen_ai.client.operation")
            .that()
            .hasLowCardinalityKeyValue(LowCardinalityKeyNames.AI_PROVIDER.asString(), "specula")
            .hasLowCardinalityKeyValue(LowCardinalityKeyNames.AI_OPERATION_TYPE.asString(), "chat")
            .hasLowCardinalityKeyValue(LowCardinalityKeyNames.REQUEST_MODEL.asString(), "tiny-target")
            .hasLowCardinalityKeyValue(LowCardinalityKeyNames.RESPONSE_MODEL.asString(), "tiny-target")
            .hasBeenStarted()
            .hasBeenStopped();
    }

    @Test
    void streamIsObservedAndStopsTheObservation() throws InterruptedException {
        TestObservationRegistry registry = TestObservationRegistry.create();
        SpeculaChatModel model = SpeculaChatModel.builder().engine(this.engine).observationRegistry(registry).build();
        Flux<ChatResponse> flux = model.stream(new Prompt("Hi"));
        flux.blockLast(Duration.ofSeconds(10));
        // the observation stops just after the subscriber saw onComplete (doFinally), on the generation thread
        eventually(() -> TestObservationRegistryAssert.assertThat(registry)
            .hasObservationWithNameEqualTo("gen_ai.client.operation")
            .that()
            .hasBeenStopped()
            .hasLowCardinalityKeyValue(LowCardinalityKeyNames.AI_PROVIDER.asString(), "specula")
            .hasLowCardinalityKeyValue(LowCardinalityKeyNames.RESPONSE_MODEL.asString(), "tiny-target")
            .hasHighCardinalityKeyValue("gen_ai.usage.output_tokens", "4"));
    }

    /** Retries an assertion for up to ten seconds. */
    static void eventually(Runnable assertion) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try {
                assertion.run();
                return;
            }
            catch (AssertionError ex) {
                if (System.nanoTime() > deadline) {
                    throw ex;
                }
                Thread.sleep(10);
            }
        }
    }

    @SuppressWarnings("unchecked")
    static List<String> sources(ChatResponse chunk) {
        return (List<String>) chunk.getResult().getMetadata().get(SpeculaChatMetadata.TOKEN_SOURCES);
    }
}
