package io.specula.chat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

import io.micrometer.observation.tck.TestObservationRegistry;
import io.micrometer.observation.tck.TestObservationRegistryAssert;
import io.specula.FieldError;
import io.specula.InvalidRequestException;
import io.specula.SpeculaException;
import io.specula.engine.ChatRequest;
import io.specula.engine.DecodingOptions;
import io.specula.engine.EngineInfo;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationResult;
import io.specula.generate.TokenSource;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTool;
import io.specula.tokenizer.ToolCallFormat;
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
 * The Spring AI binding over a mocked engine: what it hands the engine (the conversation, the options merged the
 * Spring AI way), metadata, streaming, cancellation and observations. What the engine does with a request (validation,
 * template, tokens, defaults, context) is tested where it lives: {@code io.specula.engine.RequestPreparationTest} and
 * {@code SpeculaEngineTest}; the end-to-end path over real tiny models by the auto-configuration's integration test.
 */
class SpeculaChatModelTests {

    static final EngineInfo INFO = new EngineInfo("tiny-target", "tiny-drafter", "cpu", "float32", "scalar", 256);

    static final DecodingStats STATS = new DecodingStats(true, 4, 3, 9, 6, new long[] { 3, 2, 1 },
            new long[] { 3, 3, 3 }, 10, 1_000_000, 2_000_000, 3_000_000, 10_000_000);

    /** What the scripted engine reports as the prompt's length. */
    static final int PROMPT_TOKENS = 8;

    SpeculaEngine engine;

    final AtomicReference<ChatRequest> lastRequest = new AtomicReference<>();

    @BeforeEach
    void setUp() {
        this.engine = mock(SpeculaEngine.class);
        given(this.engine.info()).willReturn(INFO);
        given(this.engine.hasDrafter()).willReturn(true);
        // Streams go through submit: it runs the (scripted) chat on the given executor, as the engine decodes there.
        willAnswer(invocation -> {
            Executor executor = invocation.getArgument(3);
            CompletableFuture<GenerationResult> result = new CompletableFuture<>();
            executor.execute(() -> {
                try {
                    result.complete(this.engine.chat(invocation.getArgument(0), invocation.getArgument(1),
                            invocation.getArgument(2)));
                }
                catch (Throwable ex) {
                    result.completeExceptionally(ex);
                }
            });
            return result;
        }).given(this.engine).submit(any(), any(), any(), any());
        script("Hello", TokenSource.TARGET, "", TokenSource.DRAFTER, " wörld", TokenSource.DRAFTER, "!",
                TokenSource.TARGET);
    }

    /** The engine emits (delta, source) pairs and finishes with STOP. */
    void script(Object... deltasAndSources) {
        willAnswer(invocation -> {
            this.lastRequest.set(invocation.getArgument(0));
            GenerationListener listener = invocation.getArgument(1);
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < deltasAndSources.length; i += 2) {
                String delta = (String) deltasAndSources[i];
                listener.onToken(10 + i, delta, (TokenSource) deltasAndSources[i + 1]);
                text.append(delta);
            }
            return new GenerationResult(new int[deltasAndSources.length / 2], text.toString(), FinishReason.STOP,
                    PROMPT_TOKENS, STATS);
        }).given(this.engine).chat(any(), any(), any());
    }

    SpeculaChatModel model(SpeculaChatOptions defaults) {
        return SpeculaChatModel.builder().engine(this.engine).options(defaults).build();
    }

    DecodingOptions sentOptions() {
        return this.lastRequest.get().options();
    }

    @Test
    void callHandsTheEngineTheConversation() {
        ChatResponse response = model(SpeculaChatOptions.builder().build()).call(new Prompt(List.of(
                new SystemMessage("Be brief."), new UserMessage("Hi"), new AssistantMessage("Hello"),
                new UserMessage("Again"))));

        assertThat(this.lastRequest.get().messages()).containsExactly(new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "Hi"), new ChatMessage("assistant", "Hello"), new ChatMessage("user", "Again"));
        assertThat(response.getResult().getOutput().getText()).isEqualTo("Hello wörld!");
    }

    @Test
    void callReturnsFinishReasonUsageAndSpeculativeStatistics() {
        ChatResponse response = model(SpeculaChatOptions.builder().build()).call(new Prompt("Hi"));

        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat(response.getMetadata().getModel()).isEqualTo("tiny-target");
        assertThat(response.getMetadata().getUsage().getPromptTokens()).isEqualTo(PROMPT_TOKENS);
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
            .given(this.engine).chat(any(), any(), any());
        ChatResponse response = model(SpeculaChatOptions.builder().build()).call(new Prompt("Hi"));
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("LENGTH");
        assertThat((Double) response.getResult().getMetadata().get(SpeculaChatMetadata.ACCEPTANCE_RATE)).isZero();
        assertThat((Boolean) response.getResult().getMetadata().get(SpeculaChatMetadata.SPECULATIVE)).isFalse();
    }

    @Test
    void defaultsApplyWhenThePromptHasNoOptions() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().temperature(0.0).topK(5).maxTokens(33)
            .stopSequences(List.of("\n\n")).seed(9L).speculative(true).draftTokens(6).draftPolicy(DraftPolicy.FIXED)
            .build());
        model.call(new Prompt("Hi"));

        DecodingOptions options = sentOptions();
        assertThat(options.maxTokens()).isEqualTo(33);
        assertThat(options.stopSequences()).containsExactly("\n\n");
        assertThat(options.temperature()).isZero();
        assertThat(options.topK()).isEqualTo(5);
        assertThat(options.topP()).isNull();
        assertThat(options.seed()).isEqualTo(9L);
        assertThat(options.speculation()).isEqualTo(new SpeculationSettings(true, 6, DraftPolicy.FIXED));
        assertThat(model.getOptions().getModel()).isEqualTo("tiny-target");
    }

    @Test
    void promptOptionsOverrideTheDefaultsFieldByFieldTheSpringAiWay() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().temperature(0.2).topP(0.8).maxTokens(50)
            .stopSequences(List.of("A")).draftTokens(6).draftPolicy(DraftPolicy.FIXED).build());
        model.call(new Prompt("Hi", SpeculaChatOptions.builder().temperature(0.9).stopSequences(List.of("B"))
            .speculative(false).build()));

        DecodingOptions options = sentOptions();
        assertThat(options.temperature()).isEqualTo(0.9);
        assertThat(options.topP()).isEqualTo(0.8);
        assertThat(options.maxTokens()).isEqualTo(50);
        // Spring AI's merge (ChatOptions.Builder#combineWith, what ChatClient does): stop sequences are added
        assertThat(options.stopSequences()).containsExactly("A", "B");
        assertThat(options.speculation()).isEqualTo(new SpeculationSettings(false, 6, DraftPolicy.FIXED));
    }

    @Test
    void optionsThatChatClientAlreadyMergedMergeToTheSameRequest() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().stopSequences(List.of("A")).draftTokens(6).build());
        SpeculaChatOptions merged = model.getOptions()
            .mutate()
            .combineWith(SpeculaChatOptions.builder().stopSequences(List.of("B")).temperature(0.1))
            .build();
        model.call(new Prompt("Hi", merged));
        assertThat(sentOptions().stopSequences()).containsExactly("A", "B");
        assertThat(sentOptions().temperature()).isEqualTo(0.1);
        assertThat(sentOptions().draftTokens()).isEqualTo(6);
    }

    @Test
    void portableOptionsOfAnotherKindAreAccepted() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().draftTokens(5).build());
        model.call(new Prompt("Hi", ChatOptions.builder().topK(3).maxTokens(7).build()));
        assertThat(sentOptions().topK()).isEqualTo(3);
        assertThat(sentOptions().maxTokens()).isEqualTo(7);
        assertThat(sentOptions().draftTokens()).isEqualTo(5);
    }

    @Test
    void theEnginesRefusalReachesCallAndStream() {
        willThrow(new InvalidRequestException(List.of(new FieldError("topP", "expected a number in (0, 1], got 1.5"),
                new FieldError("draftTokens", "expected an integer in 1..16, got 40"))))
            .given(this.engine).chat(any(), any(), any());
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        Prompt prompt = new Prompt("Hi", SpeculaChatOptions.builder().topP(1.5).draftTokens(40).build());
        assertThatThrownBy(() -> model.call(prompt)).isInstanceOf(SpeculaException.class)
            .hasMessageStartingWith("topP:")
            .hasMessageContaining("draftTokens:");
        StepVerifier.create(model.stream(prompt))
            .expectErrorSatisfies(e -> assertThat(e).isInstanceOf(InvalidRequestException.class)
                .hasMessageStartingWith("topP:"))
            .verify(Duration.ofSeconds(5));
    }

    @Test
    void optionsCanBeCheckedAgainstTheEnginesRulesBeforeSending() {
        assertThat(SpeculaChatOptions.builder().topK(-1).draftTokens(0).stopSequences(List.of("x", "")).build()
            .validate()).extracting(FieldError::field).containsExactly("topK", "stopSequences[1]", "draftTokens");
        assertThat(SpeculaChatOptions.builder().temperature(0.0).build().validate()).isEmpty();
    }

    ToolCallback weatherTool() {
        ToolCallback tool = mock(ToolCallback.class);
        given(tool.getToolDefinition()).willReturn(ToolDefinition.builder()
            .name("weather")
            .description("The weather in a city")
            .inputSchema("{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}")
            .build());
        return tool;
    }

    @Test
    void toolDefinitionsGoToTheEngineAndToolCallsComeBackOnTheMessage() {
        given(this.engine.toolCallFormat()).willReturn(ToolCallFormat.HERMES);
        script("Let me look.", TokenSource.TARGET, "<tool_call>\n{\"name\": \"weather\", ", TokenSource.TARGET,
                "\"arguments\": {\"city\": \"Paris\"}}\n</tool_call>", TokenSource.DRAFTER);
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        Prompt prompt = new Prompt("Weather in Paris?", SpeculaChatOptions.builder().toolCallbacks(weatherTool())
            .toolContext("tenant", "t1").build());

        ChatResponse response = model.call(prompt);
        assertThat(this.lastRequest.get().tools()).containsExactly(new ChatTool("weather", "The weather in a city",
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}"));
        AssistantMessage output = response.getResult().getOutput();
        assertThat(output.getText()).isEqualTo("Let me look.");
        assertThat(output.getToolCalls()).singleElement().satisfies(call -> {
            assertThat(call.name()).isEqualTo("weather");
            assertThat(call.type()).isEqualTo("function");
            assertThat(call.arguments()).isEqualTo("{\"city\":\"Paris\"}");
            assertThat(call.id()).startsWith("call_");
        });
        assertThat(response.hasToolCalls()).isTrue();
        assertThat(response.getResult().getMetadata().getFinishReason()).isEqualTo("TOOL_CALLS");

        // Streaming: the text before the call streams, the call itself never shows as text; the last chunk has it.
        List<ChatResponse> chunks = model.stream(prompt).collectList().block();
        String streamed = chunks.stream().map(c -> c.getResult().getOutput().getText()).reduce("", String::concat);
        assertThat(streamed).isEqualTo("Let me look.");
        assertThat(chunks.get(chunks.size() - 1).getResult().getOutput().getToolCalls()).singleElement()
            .extracting(AssistantMessage.ToolCall::name).isEqualTo("weather");
    }

    @Test
    void aStreamWithToolsButNoCallSendsAllItsText() {
        given(this.engine.toolCallFormat()).willReturn(ToolCallFormat.HERMES);
        script("It is <tool", TokenSource.TARGET, "> time", TokenSource.TARGET);
        SpeculaChatModel model = model(SpeculaChatOptions.builder().toolCallbacks(weatherTool()).build());
        List<ChatResponse> chunks = model.stream(new Prompt("Hi")).collectList().block();
        String streamed = chunks.stream().map(c -> c.getResult().getOutput().getText()).reduce("", String::concat);
        assertThat(streamed).isEqualTo("It is <tool> time");
        assertThat(chunks).noneMatch(ChatResponse::hasToolCalls);
    }

    @Test
    void toolCallsAndToolResponsesInTheConversationGoToTheTemplate() {
        model(SpeculaChatOptions.builder().build()).call(new Prompt(List.of(new UserMessage("Weather?"),
                AssistantMessage.builder().content("")
                    .toolCalls(List.of(new AssistantMessage.ToolCall("c1", "function", "weather", "{\"city\":\"P\"}")))
                    .build(),
                ToolResponseMessage.builder()
                    .responses(List.of(new ToolResponseMessage.ToolResponse("c1", "weather", "\"sunny\"")))
                    .build())));
        assertThat(this.lastRequest.get().messages()).containsExactly(new ChatMessage("user", "Weather?"),
                new ChatMessage("assistant", "", List.of(new ChatMessage.ToolCall("c1", "weather", "{\"city\":\"P\"}")),
                        null, null),
                new ChatMessage("tool", "\"sunny\"", List.of(), "c1", "weather"));
    }

    @Test
    void theOutputSchemaGoesToTheEngine() {
        String schema = "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"}}}";
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        // As ChatClient's native structured output sets it: mutate().outputSchema(..) on the merged options.
        var options = model.getOptions().mutate().outputSchema(schema).build();
        model.call(new Prompt("Hi", options));
        assertThat(this.lastRequest.get().outputSchema()).isEqualTo(schema);
        model.call(new Prompt("Hi"));
        assertThat(this.lastRequest.get().outputSchema()).isNull();
    }

    @Test
    void mediaIsRefused() {
        SpeculaChatModel model = model(SpeculaChatOptions.builder().build());
        UserMessage withImage = UserMessage.builder().text("What is this?")
            .media(new Media(MimeTypeUtils.IMAGE_PNG, new org.springframework.core.io.ByteArrayResource(new byte[] { 1 })))
            .build();
        assertThatThrownBy(() -> model.call(new Prompt(withImage))).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("text only");
    }

    @Test
    void withoutAStreamIntervalTheStreamEmitsOneChunkPerTextDeltaWithItsTokenSources() {
        List<ChatResponse> chunks = SpeculaChatModel.builder()
            .engine(this.engine)
            .streamInterval(Duration.ZERO)
            .build()
            .stream(new Prompt("Hi"))
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
    void theStreamSendsItsFirstTextAtOnceAndGathersTheRestByTime() {
        // An interval no test run reaches: everything after the first text arrives with the last chunk.
        List<ChatResponse> chunks = SpeculaChatModel.builder()
            .engine(this.engine)
            .streamInterval(Duration.ofHours(1))
            .build()
            .stream(new Prompt("Hi"))
            .collectList()
            .block(Duration.ofSeconds(10));

        assertThat(chunks.stream().map(c -> c.getResult().getOutput().getText())).containsExactly("Hello",
                " wörld!");
        assertThat(sources(chunks.get(0))).containsExactly("TARGET");
        ChatResponse last = chunks.get(1);
        assertThat(last.getResult().getMetadata().getFinishReason()).isEqualTo("STOP");
        assertThat(sources(last)).containsExactly("DRAFTER", "DRAFTER", "TARGET");
        assertThat((List<Object>) last.getResult().getMetadata().get(SpeculaChatMetadata.TEXT_SEGMENTS)).containsExactly(
                new SpeculaChatMetadata.TextSegment(" wörld", "DRAFTER"),
                new SpeculaChatMetadata.TextSegment("!", "TARGET"));
        assertThat(SpeculaChatModel.Builder.DEFAULT_STREAM_INTERVAL).isEqualTo(Duration.ofMillis(50));
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
        assertThat(response.getMetadata().getUsage().getTotalTokens()).isEqualTo(PROMPT_TOKENS + 4);
    }

    @Test
    void streamErrorsReachTheSubscriber() {
        willThrow(new SpeculaException("boom")).given(this.engine).chat(any(), any(), any());
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
            GenerationListener listener = invocation.getArgument(1);
            BooleanSupplier cancelled = invocation.getArgument(2);
            try {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                int n = 0;
                while (System.nanoTime() < deadline) {
                    if (cancelled.getAsBoolean()) {
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
        }).given(this.engine).chat(any(), any(), any());

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
