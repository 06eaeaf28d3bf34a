package io.specula.chat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import io.specula.engine.ChatRequest;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingStats;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationResult;
import io.specula.generate.RequestLatency;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTool;
import io.specula.tokenizer.ToolCallFormat;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
import org.springframework.ai.chat.messages.ToolResponseMessage;
import org.springframework.ai.chat.messages.UserMessage;
import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.metadata.ChatResponseMetadata;
import org.springframework.ai.chat.metadata.DefaultUsage;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.model.Generation;
import org.springframework.ai.chat.model.MessageAggregator;
import org.springframework.ai.chat.observation.ChatModelObservationContext;
import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.chat.observation.ChatModelObservationDocumentation;
import org.springframework.ai.chat.observation.DefaultChatModelObservationConvention;
import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.Prompt;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.tool.definition.ToolDefinition;
import org.springframework.util.Assert;

/**
 * {@link ChatModel} for Specula: chat completions from a local target model, sped up by speculative decoding with a
 * drafter, in process. Like Spring AI's provider models, it only adapts: Spring AI options to the engine's
 * {@link ChatRequest}, the engine's result to a {@link ChatResponse}, with observations, and its deltas to a
 * {@link Flux}. The engine owns the request from there (validation, admission, chat template, tokens, context, token
 * cap, decoding): see {@link SpeculaEngine#chat}.
 *
 * <p>
 * Tool calling: the options' tool callbacks are resolved to definitions ({@link ToolCallingManager}) and rendered by
 * the model's chat template; the tool calls the model writes (in its template's format, {@link ToolCallFormat}) come
 * back as the {@link AssistantMessage}'s tool calls, with finish reason {@code TOOL_CALLS}; tool calls and tool
 * responses in the conversation go back to the template. Spring AI's {@code ToolCallingAdvisor} (registered by
 * {@code ChatClient}) runs the tools and loops, streaming included: a stream holds back text from where a tool call
 * may begin and sends the calls on its last chunk. A model whose template renders no tools refuses tools with an
 * {@code InvalidRequestException} naming them. Media is not supported: a prompt that has it is refused with an
 * {@link IllegalArgumentException}. Structured output: an output schema in the options constrains decoding.
 *
 * <p>
 * Options merge one way, Spring AI's: a prompt without options uses {@link #getOptions()} (the defaults); a prompt
 * with options gets {@code getOptions().mutate().combineWith(options)}, as {@code ChatClient} does: every non-null
 * value wins and stop sequences are added to the default ones. Portable {@link ChatOptions} of another provider are
 * accepted for their portable fields.
 *
 * <p>
 * Each response carries the request's speculative statistics in its generation metadata and message metadata (keys
 * in {@link SpeculaChatMetadata}); each streamed chunk names the source of its tokens (drafter or target). A stream
 * sends its first text at once and then gathers text into a chunk every {@link Builder#streamInterval} (50 ms by
 * default): one chunk per token would cost the decoding thread a fifth of its speed at a few hundred tokens a second
 * ({@link StreamCoalescer}).
 * {@link #stream(Prompt)} goes through the engine's admission before it takes a scheduler thread
 * ({@link SpeculaEngine#submit}): a stream the engine cannot take is refused when subscribed, a queued stream waits
 * without a thread (and fails at the queue timeout), and only admitted streams decode on the scheduler. Cancelling the
 * stream stops the engine within one decoding step (or takes a queued request out of the queue). Observations follow
 * Spring AI's {@code gen_ai.client.operation} convention with provider {@value #PROVIDER_NAME}.
 *
 * <p>Why ~500 lines: the adapter Spring AI's providers have (options, observation, Flux) plus a stream's text
 * assembly (tool-call text held back, coalescing by time) in {@code generateInto}; that assembly is the part to move
 * into its own class next, so that this class stays the size of {@code OllamaChatModel}.
 */
public class SpeculaChatModel implements ChatModel {

    /** The {@code gen_ai.system} value of Specula's observations. */
    public static final String PROVIDER_NAME = "specula";

    private static final ChatModelObservationConvention DEFAULT_OBSERVATION_CONVENTION = new DefaultChatModelObservationConvention();

    private final SpeculaEngine engine;

    private final SpeculaChatOptions defaultOptions;

    private final ObservationRegistry observationRegistry;

    private final Scheduler scheduler;

    private final ToolCallingManager toolCallingManager;
    private final Duration streamInterval;

    private ChatModelObservationConvention observationConvention = DEFAULT_OBSERVATION_CONVENTION;

    public SpeculaChatModel(SpeculaEngine engine, SpeculaChatOptions defaultOptions,
            ObservationRegistry observationRegistry, Scheduler scheduler) {
        this(engine, defaultOptions, observationRegistry, scheduler, ToolCallingManager.builder().build(),
                Builder.DEFAULT_STREAM_INTERVAL);
    }

    /**
     * @param toolCallingManager resolves the options' tool callbacks to the definitions the template renders
     * @param streamInterval     how long a stream gathers text into one chunk after its first (zero: a chunk per text
     *                           delta)
     */
    public SpeculaChatModel(SpeculaEngine engine, SpeculaChatOptions defaultOptions,
            ObservationRegistry observationRegistry, Scheduler scheduler, ToolCallingManager toolCallingManager,
            Duration streamInterval) {
        Assert.notNull(toolCallingManager, "toolCallingManager must not be null");
        Assert.notNull(streamInterval, "streamInterval must not be null");
        Assert.isTrue(!streamInterval.isNegative(), "streamInterval must not be negative");
        this.toolCallingManager = toolCallingManager;
        this.streamInterval = streamInterval;
        Assert.notNull(engine, "engine must not be null");
        Assert.notNull(defaultOptions, "defaultOptions must not be null");
        Assert.notNull(observationRegistry, "observationRegistry must not be null");
        Assert.notNull(scheduler, "scheduler must not be null");
        this.engine = engine;
        this.defaultOptions = defaultOptions.getModel() != null ? defaultOptions
                : defaultOptions.mutate().model(engine.info().targetName()).build();
        this.observationRegistry = observationRegistry;
        this.scheduler = scheduler;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The default options; {@code model} is the target model's name unless set otherwise. */
    @Override
    public SpeculaChatOptions getOptions() {
        return this.defaultOptions;
    }

    /** The engine this model generates with. */
    public SpeculaEngine getEngine() {
        return this.engine;
    }

    /** Use the given convention for the observations of this model. */
    public void setObservationConvention(ChatModelObservationConvention observationConvention) {
        Assert.notNull(observationConvention, "observationConvention cannot be null");
        this.observationConvention = observationConvention;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Prompt requestPrompt = buildRequestPrompt(prompt);
        ChatRequest request = chatRequest(requestPrompt);
        ChatModelObservationContext observationContext = ChatModelObservationContext.builder()
            .prompt(requestPrompt)
            .provider(PROVIDER_NAME)
            .build();
        ChatResponse response = ChatModelObservationDocumentation.CHAT_MODEL_OPERATION
            .observation(this.observationConvention, DEFAULT_OBSERVATION_CONVENTION, () -> observationContext,
                    this.observationRegistry)
            .observe(() -> {
                // call() has no cancel signal of its own: interrupting the calling thread stops the generation.
                Thread caller = Thread.currentThread();
                GenerationResult result = this.engine.chat(request, GenerationListener.NONE, caller::isInterrupted);
                ChatResponse chatResponse = finalResponse(UUID.randomUUID().toString(), answer(request, result.text()),
                        result, null);
                observationContext.setResponse(chatResponse);
                return chatResponse;
            });
        return Objects.requireNonNull(response);
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        Prompt requestPrompt = buildRequestPrompt(prompt);
        ChatRequest request = chatRequest(requestPrompt);
        return Flux.deferContextual(contextView -> {
            ChatModelObservationContext observationContext = ChatModelObservationContext.builder()
                .prompt(requestPrompt)
                .provider(PROVIDER_NAME)
                .streaming(true)
                .build();
            Observation observation = ChatModelObservationDocumentation.CHAT_MODEL_OPERATION.observation(
                    this.observationConvention, DEFAULT_OBSERVATION_CONVENTION, () -> observationContext,
                    this.observationRegistry);
            Observation parentObservation = contextView.getOrDefault(ObservationThreadLocalAccessor.KEY, null);
            observation.parentObservation(parentObservation);
            try (Observation.Scope ignored = parentObservation != null ? parentObservation.openScope()
                    : Observation.Scope.NOOP) {
                observation.start();
            }

            Flux<ChatResponse> chunks = Flux
                .<ChatResponse>create(sink -> generateInto(request, sink), FluxSink.OverflowStrategy.BUFFER)
                .doOnError(observation::error)
                .doFinally(signal -> observation.stop())
                .contextWrite(ctx -> ctx.put(ObservationThreadLocalAccessor.KEY, observation));

            return new MessageAggregator().aggregate(chunks, observationContext::setResponse);
        });
    }

    /**
     * Submits one generation to the engine (admission, chat template and tokens on the subscribing thread, as
     * {@link #call} does; decoding on the scheduler once admitted), pushing chunks into the sink: the first text at
     * once, then the text gathered over each stream interval; the last chunk carries what is left and the statistics.
     * With tools, text is passed on as it comes up to where a tool call may begin, which is held back; the last chunk
     * carries the calls (or the held text, when it was no call after all).
     */
    private void generateInto(ChatRequest request, FluxSink<ChatResponse> sink) {
        AtomicBoolean cancelled = new AtomicBoolean();
        String id = UUID.randomUUID().toString();
        ToolCallFormat format = request.tools().isEmpty() ? ToolCallFormat.NONE : this.engine.toolCallFormat();
        boolean tools = format != ToolCallFormat.NONE;
        // The listener runs on the decoding thread, the completion may run on another: both touch this state under
        // its lock.
        Object lock = new Object();
        StreamCoalescer chunks = new StreamCoalescer(this.streamInterval.toNanos(), System::nanoTime);
        List<String> pendingSources = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        int[] emitted = {0};
        GenerationListener listener = (tokenId, textDelta, source) -> {
            synchronized (lock) {
                if (!tools) {
                    if (chunks.add(tokenId, textDelta, source) && !cancelled.get()) {
                        sink.next(chunk(id, chunks.take()));
                    }
                    return;
                }
                if (tokenId >= 0 && source != null) {
                    pendingSources.add(source.name());
                }
                if (textDelta == null || textDelta.isEmpty() || cancelled.get()) {
                    return;
                }
                text.append(textDelta);
                int held = format.heldFrom(text.toString());
                int end = held < 0 ? text.length() : Math.max(held, emitted[0]);
                if (end > emitted[0]) {
                    sink.next(chunk(id, new StreamCoalescer.Chunk(text.substring(emitted[0], end),
                            List.copyOf(pendingSources), List.of())));
                    pendingSources.clear();
                    emitted[0] = end;
                }
            }
        };
        CompletableFuture<GenerationResult> result;
        try {
            result = this.engine.submit(request, listener, cancelled::get, this::execute);
        }
        catch (Throwable ex) {
            sink.error(ex);
            return;
        }
        sink.onCancel(() -> {
            cancelled.set(true);
            result.cancel(false);
        });
        result.whenComplete((generated, ex) -> {
            if (cancelled.get()) {
                return;
            }
            if (ex != null) {
                sink.error(ex instanceof CompletionException && ex.getCause() != null ? ex.getCause() : ex);
                return;
            }
            try {
                synchronized (lock) {
                    if (tools) {
                        ToolCallFormat.Parsed rest = format.parse(text.substring(emitted[0]));
                        sink.next(finalResponse(id, rest, generated,
                                new StreamCoalescer.Chunk(rest.text(), List.copyOf(pendingSources), List.of())));
                    }
                    else {
                        StreamCoalescer.Chunk rest = chunks.take();
                        sink.next(finalResponse(id, new ToolCallFormat.Parsed(rest.text(), List.of()), generated,
                                rest));
                    }
                }
                sink.complete();
            }
            catch (Throwable failure) {
                sink.error(failure);
            }
        });
    }

    /** Runs engine work on the scheduler (which throws RejectedExecutionException when saturated). */
    private void execute(Runnable task) {
        this.scheduler.schedule(task);
    }

    private ChatResponse chunk(String id, StreamCoalescer.Chunk chunk) {
        AssistantMessage message = AssistantMessage.builder().content(chunk.text()).build();
        ChatGenerationMetadata metadata = ChatGenerationMetadata.builder()
            .metadata(SpeculaChatMetadata.TOKEN_SOURCES, chunk.sources())
            .metadata(SpeculaChatMetadata.TEXT_SEGMENTS, chunk.segments())
            .build();
        return new ChatResponse(List.of(new Generation(message, metadata)),
                ChatResponseMetadata.builder().id(id).model(this.engine.info().targetName()).build());
    }

    /** A whole answer read as text and, when the request has tools, the tool calls in the model's format. */
    private ToolCallFormat.Parsed answer(ChatRequest request, String text) {
        return request.tools().isEmpty() ? new ToolCallFormat.Parsed(text, List.of())
                : this.engine.toolCallFormat().parse(text);
    }

    /** The response of a call, or the last chunk of a stream (with what it has not sent yet). */
    private ChatResponse finalResponse(String id, ToolCallFormat.Parsed answer, GenerationResult result,
            StreamCoalescer.@Nullable Chunk rest) {
        Map<String, Object> statistics = statistics(result.stats());
        RequestLatency latency = result.latency();
        if (latency.hasQueueTime()) {
            statistics.put(SpeculaChatMetadata.QUEUE_TIME, latency.queueNanos() / 1e9);
        }
        if (latency.hasFirstToken()) {
            statistics.put(SpeculaChatMetadata.TIME_TO_FIRST_TOKEN, latency.timeToFirstTokenNanos() / 1e9);
        }
        List<AssistantMessage.ToolCall> toolCalls = answer.toolCalls()
            .stream()
            .map(call -> new AssistantMessage.ToolCall(call.id(), "function", call.name(), call.arguments()))
            .toList();
        AssistantMessage message = AssistantMessage.builder()
            .content(answer.text())
            .properties(statistics)
            .toolCalls(toolCalls)
            .build();
        ChatGenerationMetadata.Builder metadata = ChatGenerationMetadata.builder()
            .finishReason(toolCalls.isEmpty() ? result.finishReason().name() : "TOOL_CALLS")
            .metadata(statistics);
        if (rest != null) {
            metadata.metadata(SpeculaChatMetadata.TOKEN_SOURCES, rest.sources());
            metadata.metadata(SpeculaChatMetadata.TEXT_SEGMENTS, rest.segments());
        }
        ChatResponseMetadata responseMetadata = ChatResponseMetadata.builder()
            .id(id)
            .model(this.engine.info().targetName())
            .usage(new DefaultUsage(result.promptTokens(), result.completionTokens()))
            .build();
        return new ChatResponse(List.of(new Generation(message, metadata.build())), responseMetadata);
    }

    private Map<String, Object> statistics(DecodingStats stats) {
        Map<String, Object> map = new LinkedHashMap<>();
        map.put(SpeculaChatMetadata.SPECULATIVE, stats.speculative());
        map.put(SpeculaChatMetadata.DRAFT_MODEL, this.engine.info().drafterName());
        map.put(SpeculaChatMetadata.DRAFTS, stats.drafts());
        map.put(SpeculaChatMetadata.DRAFTED_TOKENS, stats.draftedTokens());
        map.put(SpeculaChatMetadata.ACCEPTED_TOKENS, stats.acceptedTokens());
        map.put(SpeculaChatMetadata.ACCEPTANCE_RATE, stats.acceptanceRate());
        map.put(SpeculaChatMetadata.MEAN_ACCEPTANCE_LENGTH, stats.meanAcceptanceLength());
        map.put(SpeculaChatMetadata.TOKENS_PER_SECOND, stats.decodeTokensPerSecond());
        return map;
    }

    /**
     * The prompt to run, with its options merged the Spring AI way (see the class comment). Package access for
     * testing.
     */
    Prompt buildRequestPrompt(Prompt prompt) {
        Assert.notNull(prompt, "prompt must not be null");
        ChatOptions runtime = prompt.getOptions();
        SpeculaChatOptions options = runtime == null ? this.defaultOptions
                : this.defaultOptions.mutate().combineWith(runtime.mutate()).build();
        return prompt.mutate().chatOptions(options).build();
    }

    /**
     * The engine's request: the conversation (media refused), the merged options, the output schema and the tools
     * (their definitions, resolved by the tool calling manager).
     */
    private ChatRequest chatRequest(Prompt prompt) {
        List<ChatMessage> messages = new ArrayList<>();
        for (Message message : prompt.getInstructions()) {
            if (message instanceof ToolResponseMessage tool) {
                for (ToolResponseMessage.ToolResponse response : tool.getResponses()) {
                    messages.add(new ChatMessage("tool", response.responseData(), List.of(), response.id(),
                            response.name()));
                }
            }
            else {
                messages.add(toChatMessage(message));
            }
        }
        SpeculaChatOptions options = (SpeculaChatOptions) Objects.requireNonNull(prompt.getOptions());
        List<ChatTool> tools = List.of();
        if (options.getToolCallbacks() != null && !options.getToolCallbacks().isEmpty()) {
            ToolCallingChatOptions.validateToolCallbacks(options.getToolCallbacks());
            List<ToolDefinition> definitions = this.toolCallingManager.resolveToolDefinitions(options);
            tools = definitions.stream()
                .map(d -> new ChatTool(d.name(), d.description(), d.inputSchema()))
                .toList();
        }
        return new ChatRequest(messages, options.toDecodingOptions(), options.getOutputSchema(), tools);
    }

    private static ChatMessage toChatMessage(Message message) {
        String text = Objects.requireNonNullElse(message.getText(), "");
        return switch (message.getMessageType()) {
            case SYSTEM -> new ChatMessage("system", text);
            case USER -> {
                if (message instanceof UserMessage user && user.getMedia() != null && !user.getMedia().isEmpty()) {
                    throw new IllegalArgumentException(
                            "Specula supports text only: a user message carries " + user.getMedia().size()
                                    + " media item(s)");
                }
                yield new ChatMessage("user", text);
            }
            case ASSISTANT -> {
                if (message instanceof AssistantMessage assistant && assistant.hasToolCalls()) {
                    List<ChatMessage.ToolCall> calls = assistant.getToolCalls()
                        .stream()
                        .map(call -> new ChatMessage.ToolCall(call.id(), call.name(), call.arguments()))
                        .toList();
                    yield new ChatMessage("assistant", text, calls, null, null);
                }
                yield new ChatMessage("assistant", text);
            }
            case TOOL -> throw new IllegalArgumentException("a TOOL message must be a ToolResponseMessage");
        };
    }

    public static final class Builder {

        private @Nullable SpeculaEngine engine;

        private SpeculaChatOptions options = SpeculaChatOptions.builder().build();

        private ObservationRegistry observationRegistry = ObservationRegistry.NOOP;

        private Scheduler scheduler = Schedulers.boundedElastic();

        private @Nullable ToolCallingManager toolCallingManager;

        /** A stream's chunks after the first gather this long of text: at most ~20 chunks a second. */
        public static final Duration DEFAULT_STREAM_INTERVAL = Duration.ofMillis(50);

        private Duration streamInterval = DEFAULT_STREAM_INTERVAL;

        private Builder() {
        }

        /**
         * Resolves tool callbacks to their definitions (the auto-configured {@code ToolCallingManager}); a default
         * manager otherwise. The tools themselves are run by ChatClient's {@code ToolCallingAdvisor}.
         */
        public Builder toolCallingManager(ToolCallingManager toolCallingManager) {
            this.toolCallingManager = toolCallingManager;
            return this;
        }

        public Builder engine(SpeculaEngine engine) {
            this.engine = engine;
            return this;
        }

        /** The default options (usually from {@code spring.ai.specula.chat.*}). */
        public Builder options(SpeculaChatOptions options) {
            this.options = options;
            return this;
        }

        public Builder observationRegistry(ObservationRegistry observationRegistry) {
            this.observationRegistry = observationRegistry;
            return this;
        }

        /**
         * Where streamed generations decode once admitted; {@link Schedulers#boundedElastic()} by default. A stream
         * waiting for a slot holds none of its threads.
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        /**
         * How long a stream gathers text into one chunk after its first, which goes out at once ({@link Duration#ZERO}:
         * a chunk per text delta); {@link #DEFAULT_STREAM_INTERVAL}, 50 ms, by default.
         */
        public Builder streamInterval(Duration streamInterval) {
            this.streamInterval = streamInterval;
            return this;
        }

        public SpeculaChatModel build() {
            Assert.state(this.engine != null, "engine must not be null");
            return new SpeculaChatModel(this.engine, this.options, this.observationRegistry, this.scheduler,
                    this.toolCallingManager != null ? this.toolCallingManager : ToolCallingManager.builder().build(),
                    this.streamInterval);
        }
    }
}
