package io.specula.chat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import io.specula.engine.ChatRequest;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingStats;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationResult;
import io.specula.tokenizer.ChatMessage;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.FluxSink;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import org.springframework.ai.chat.messages.AssistantMessage;
import org.springframework.ai.chat.messages.Message;
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
import org.springframework.util.Assert;

/**
 * {@link ChatModel} for Specula: chat completions from a local target model, sped up by speculative decoding with a
 * drafter, in process. Like Spring AI's provider models, it only adapts: Spring AI options to the engine's
 * {@link ChatRequest}, the engine's result to a {@link ChatResponse}, with observations, and its deltas to a
 * {@link Flux}. The engine owns the request from there (validation, admission, chat template, tokens, context, token
 * cap, decoding): see {@link SpeculaEngine#chat}.
 *
 * <p>
 * Tool calling, tool messages and media are not supported: a prompt that has them is refused with an
 * {@link IllegalArgumentException}.
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
 * Generation for {@link #stream(Prompt)} runs on a bounded scheduler; cancelling the stream stops the engine within
 * one decoding step. Observations follow Spring AI's {@code gen_ai.client.operation} convention with provider
 * {@value #PROVIDER_NAME}.
 */
public class SpeculaChatModel implements ChatModel {

    /** The {@code gen_ai.system} value of Specula's observations. */
    public static final String PROVIDER_NAME = "specula";

    private static final ChatModelObservationConvention DEFAULT_OBSERVATION_CONVENTION = new DefaultChatModelObservationConvention();

    private final SpeculaEngine engine;

    private final SpeculaChatOptions defaultOptions;

    private final ObservationRegistry observationRegistry;

    private final Scheduler scheduler;

    private final Duration streamInterval;

    private ChatModelObservationConvention observationConvention = DEFAULT_OBSERVATION_CONVENTION;

    public SpeculaChatModel(SpeculaEngine engine, SpeculaChatOptions defaultOptions,
            ObservationRegistry observationRegistry, Scheduler scheduler) {
        this(engine, defaultOptions, observationRegistry, scheduler, Builder.DEFAULT_STREAM_INTERVAL);
    }

    /**
     * @param streamInterval how long a stream gathers text into one chunk after its first (zero: a chunk per text
     *                       delta)
     */
    public SpeculaChatModel(SpeculaEngine engine, SpeculaChatOptions defaultOptions,
            ObservationRegistry observationRegistry, Scheduler scheduler, Duration streamInterval) {
        Assert.notNull(streamInterval, "streamInterval must not be null");
        Assert.isTrue(!streamInterval.isNegative(), "streamInterval must not be negative");
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
                ChatResponse chatResponse = finalResponse(UUID.randomUUID().toString(), result.text(), result, null);
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
                .subscribeOn(this.scheduler)
                .doOnError(observation::error)
                .doFinally(signal -> observation.stop())
                .contextWrite(ctx -> ctx.put(ObservationThreadLocalAccessor.KEY, observation));

            return new MessageAggregator().aggregate(chunks, observationContext::setResponse);
        });
    }

    /**
     * Runs one generation on the calling (scheduler) thread, pushing chunks into the sink: the first text at once, then
     * the text gathered over each stream interval; the last chunk carries what is left and the statistics.
     */
    private void generateInto(ChatRequest request, FluxSink<ChatResponse> sink) {
        AtomicBoolean cancelled = new AtomicBoolean();
        sink.onCancel(() -> cancelled.set(true));
        String id = UUID.randomUUID().toString();
        try {
            StreamCoalescer chunks = new StreamCoalescer(this.streamInterval.toNanos(), System::nanoTime);
            GenerationListener listener = (tokenId, textDelta, source) -> {
                if (chunks.add(tokenId, textDelta, source) && !cancelled.get()) {
                    sink.next(chunk(id, chunks.take()));
                }
            };
            GenerationResult result = this.engine.chat(request, listener, cancelled::get);
            if (!cancelled.get()) {
                sink.next(finalResponse(id, result, chunks.take()));
                sink.complete();
            }
        }
        catch (Throwable ex) {
            sink.error(ex);
        }
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

    /** The last chunk of a stream: the text and token sources not yet sent, and the statistics. */
    private ChatResponse finalResponse(String id, GenerationResult result, StreamCoalescer.Chunk rest) {
        return finalResponse(id, rest.text(), result, rest);
    }

    /** The response of a call, or the last chunk of a stream (with what it has not sent yet). */
    private ChatResponse finalResponse(String id, String text, GenerationResult result,
            StreamCoalescer.@Nullable Chunk rest) {
        Map<String, Object> statistics = statistics(result.stats());
        AssistantMessage message = AssistantMessage.builder().content(text).properties(statistics).build();
        ChatGenerationMetadata.Builder metadata = ChatGenerationMetadata.builder()
            .finishReason(result.finishReason().name())
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
     * The prompt to run, with its options merged the Spring AI way (see the class comment); tool use refused.
     * Package access for testing.
     */
    Prompt buildRequestPrompt(Prompt prompt) {
        Assert.notNull(prompt, "prompt must not be null");
        ChatOptions runtime = prompt.getOptions();
        if (runtime instanceof ToolCallingChatOptions toolOptions && toolOptions.getToolCallbacks() != null
                && !toolOptions.getToolCallbacks().isEmpty()) {
            throw new IllegalArgumentException("Specula does not support tool calling: the prompt's options define "
                    + toolOptions.getToolCallbacks().size() + " tool callback(s); remove the tools from the request");
        }
        SpeculaChatOptions options = runtime == null ? this.defaultOptions
                : this.defaultOptions.mutate().combineWith(runtime.mutate()).build();
        return prompt.mutate().chatOptions(options).build();
    }

    /** The engine's request: the conversation (tool messages and media refused) and the merged options. */
    private static ChatRequest chatRequest(Prompt prompt) {
        List<ChatMessage> messages = prompt.getInstructions().stream().map(SpeculaChatModel::toChatMessage).toList();
        return new ChatRequest(messages, ((SpeculaChatOptions) Objects.requireNonNull(prompt.getOptions()))
            .toDecodingOptions());
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
                    throw new IllegalArgumentException(
                            "Specula does not support tool calling: an assistant message carries tool calls");
                }
                yield new ChatMessage("assistant", text);
            }
            case TOOL -> throw new IllegalArgumentException(
                    "Specula does not support tool calling: the prompt contains a tool response message");
        };
    }

    public static final class Builder {

        private @Nullable SpeculaEngine engine;

        private SpeculaChatOptions options = SpeculaChatOptions.builder().build();

        private ObservationRegistry observationRegistry = ObservationRegistry.NOOP;

        private Scheduler scheduler = Schedulers.boundedElastic();

        /** A stream's chunks after the first gather this long of text: at most ~20 chunks a second. */
        public static final Duration DEFAULT_STREAM_INTERVAL = Duration.ofMillis(50);

        private Duration streamInterval = DEFAULT_STREAM_INTERVAL;

        private Builder() {
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

        /** Where streamed generations run; {@link Schedulers#boundedElastic()} by default. */
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
                    this.streamInterval);
        }
    }
}
