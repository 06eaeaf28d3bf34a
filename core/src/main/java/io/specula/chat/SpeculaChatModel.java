package io.specula.chat;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;
import io.micrometer.observation.contextpropagation.ObservationThreadLocalAccessor;
import io.specula.SpeculaException;
import io.specula.engine.EngineInfo;
import io.specula.engine.SpeculaEngine;
import io.specula.engine.SpeculationSettings;
import io.specula.generate.DecodingStats;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.ChatTemplate;
import io.specula.tokenizer.Tokenizer;
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
 * drafter, in process.
 *
 * <p>
 * The conversation (system, user and assistant messages) is rendered with the model's chat template
 * ({@code tokenizer_config.json}); a model without one gets a plain format:
 *
 * <pre>
 * System: {system text}
 * User: {user text}
 * Assistant: {assistant text}
 * User: {user text}
 * Assistant:</pre>
 *
 * Tool calling, tool messages and media are not supported: a prompt that has them is refused with an
 * {@link IllegalArgumentException}.
 *
 * <p>
 * Options: a prompt without options uses {@link #getOptions()} (the defaults); a prompt with options overrides the
 * defaults field by field, every non-null value winning (stop sequences given in the prompt replace the default
 * ones). Portable {@link ChatOptions} of another provider are accepted for their portable fields.
 *
 * <p>
 * Each response carries the request's speculative statistics in its generation metadata and message metadata (keys
 * in {@link SpeculaChatMetadata}); each streamed chunk names the source of its tokens (drafter or target).
 * Generation for {@link #stream(Prompt)} runs on a bounded scheduler; cancelling the stream stops the engine within
 * one decoding step. Observations follow Spring AI's {@code gen_ai.client.operation} convention with provider
 * {@value #PROVIDER_NAME}.
 */
public class SpeculaChatModel implements ChatModel {

    /** The {@code gen_ai.system} value of Specula's observations. */
    public static final String PROVIDER_NAME = "specula";

    private static final ChatModelObservationConvention DEFAULT_OBSERVATION_CONVENTION = new DefaultChatModelObservationConvention();

    /** Sampling defaults used where neither the prompt nor the model's default options set a value. */
    public static final double DEFAULT_TEMPERATURE = 0.7;

    public static final double DEFAULT_TOP_P = 1.0;

    public static final int DEFAULT_TOP_K = 0;

    private final SpeculaEngine engine;

    private final SpeculaChatOptions defaultOptions;

    private final ObservationRegistry observationRegistry;

    private final Scheduler scheduler;

    /** Whether special-token text in messages becomes special tokens (transformers' behaviour) or stays text. */
    private final boolean parseSpecialTokensInMessages;

    private ChatModelObservationConvention observationConvention = DEFAULT_OBSERVATION_CONVENTION;

    public SpeculaChatModel(SpeculaEngine engine, SpeculaChatOptions defaultOptions,
            ObservationRegistry observationRegistry, Scheduler scheduler) {
        this(engine, defaultOptions, observationRegistry, scheduler, false);
    }

    /**
     * @param parseSpecialTokensInMessages {@code false} (the default): special tokens only where the chat template
     * puts them, special-token text in a message stays text (see {@link Tokenizer#encodeChat}); {@code true}: as
     * transformers tokenizes the rendered prompt, so a message can contain real special tokens
     */
    public SpeculaChatModel(SpeculaEngine engine, SpeculaChatOptions defaultOptions,
            ObservationRegistry observationRegistry, Scheduler scheduler, boolean parseSpecialTokensInMessages) {
        Assert.notNull(engine, "engine must not be null");
        Assert.notNull(defaultOptions, "defaultOptions must not be null");
        Assert.notNull(observationRegistry, "observationRegistry must not be null");
        Assert.notNull(scheduler, "scheduler must not be null");
        this.engine = engine;
        this.defaultOptions = defaultOptions.getModel() != null ? defaultOptions
                : defaultOptions.mutate().model(engine.info().targetName()).build();
        this.observationRegistry = observationRegistry;
        this.scheduler = scheduler;
        this.parseSpecialTokensInMessages = parseSpecialTokensInMessages;
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

    /** Whether special-token text in messages becomes special tokens (see the constructor). */
    public boolean isParseSpecialTokensInMessages() {
        return this.parseSpecialTokensInMessages;
    }

    /** Use the given convention for the observations of this model. */
    public void setObservationConvention(ChatModelObservationConvention observationConvention) {
        Assert.notNull(observationConvention, "observationConvention cannot be null");
        this.observationConvention = observationConvention;
    }

    @Override
    public ChatResponse call(Prompt prompt) {
        Prompt requestPrompt = buildRequestPrompt(prompt);
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
                PreparedRequest request = prepare(requestPrompt, caller::isInterrupted);
                GenerationResult result = this.engine.generate(request.generation(), request.speculation(),
                        GenerationListener.NONE);
                ChatResponse chatResponse = finalResponse(UUID.randomUUID().toString(), result.text(), result,
                        request, List.of(), false);
                observationContext.setResponse(chatResponse);
                return chatResponse;
            });
        return Objects.requireNonNull(response);
    }

    @Override
    public Flux<ChatResponse> stream(Prompt prompt) {
        Prompt requestPrompt = buildRequestPrompt(prompt);
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
                .<ChatResponse>create(sink -> generateInto(requestPrompt, sink), FluxSink.OverflowStrategy.BUFFER)
                .subscribeOn(this.scheduler)
                .doOnError(observation::error)
                .doFinally(signal -> observation.stop())
                .contextWrite(ctx -> ctx.put(ObservationThreadLocalAccessor.KEY, observation));

            return new MessageAggregator().aggregate(chunks, observationContext::setResponse);
        });
    }

    /** Runs one generation on the calling (scheduler) thread, pushing a chunk per text delta into the sink. */
    private void generateInto(Prompt prompt, FluxSink<ChatResponse> sink) {
        AtomicBoolean cancelled = new AtomicBoolean();
        sink.onCancel(() -> cancelled.set(true));
        String id = UUID.randomUUID().toString();
        try {
            PreparedRequest request = prepare(prompt, cancelled::get);
            List<String> pendingSources = new ArrayList<>();
            GenerationListener listener = (tokenId, textDelta, source) -> {
                if (tokenId >= 0 && source != null) {
                    pendingSources.add(source.name());
                }
                if (textDelta != null && !textDelta.isEmpty() && !cancelled.get()) {
                    sink.next(chunk(id, textDelta, List.copyOf(pendingSources)));
                    pendingSources.clear();
                }
            };
            GenerationResult result = this.engine.generate(request.generation(), request.speculation(), listener);
            if (!cancelled.get()) {
                sink.next(finalResponse(id, "", result, request, List.copyOf(pendingSources), true));
                sink.complete();
            }
        }
        catch (Throwable ex) {
            sink.error(ex);
        }
    }

    private ChatResponse chunk(String id, String text, List<String> sources) {
        AssistantMessage message = AssistantMessage.builder().content(text).build();
        ChatGenerationMetadata metadata = ChatGenerationMetadata.builder()
            .metadata(SpeculaChatMetadata.TOKEN_SOURCES, sources)
            .build();
        return new ChatResponse(List.of(new Generation(message, metadata)),
                ChatResponseMetadata.builder().id(id).model(this.engine.info().targetName()).build());
    }

    private ChatResponse finalResponse(String id, String text, GenerationResult result, PreparedRequest request,
            List<String> sources, boolean streaming) {
        Map<String, Object> statistics = statistics(result.stats(), request.speculation());
        AssistantMessage message = AssistantMessage.builder().content(text).properties(statistics).build();
        ChatGenerationMetadata.Builder metadata = ChatGenerationMetadata.builder()
            .finishReason(result.finishReason().name())
            .metadata(statistics);
        if (streaming) {
            metadata.metadata(SpeculaChatMetadata.TOKEN_SOURCES, sources);
        }
        ChatResponseMetadata responseMetadata = ChatResponseMetadata.builder()
            .id(id)
            .model(this.engine.info().targetName())
            .usage(new DefaultUsage(result.promptTokens(), result.completionTokens()))
            .build();
        return new ChatResponse(List.of(new Generation(message, metadata.build())), responseMetadata);
    }

    private Map<String, Object> statistics(@Nullable DecodingStats stats, SpeculationSettings speculation) {
        DecodingStats s = stats != null ? stats : DecodingStats.EMPTY;
        EngineInfo info = this.engine.info();
        Map<String, Object> map = new LinkedHashMap<>();
        map.put(SpeculaChatMetadata.SPECULATIVE, speculation.enabled() && this.engine.hasDrafter());
        map.put(SpeculaChatMetadata.DRAFT_MODEL, info.drafterName());
        map.put(SpeculaChatMetadata.DRAFTS, s.drafts());
        map.put(SpeculaChatMetadata.DRAFTED_TOKENS, s.draftedTokens());
        map.put(SpeculaChatMetadata.ACCEPTED_TOKENS, s.acceptedTokens());
        map.put(SpeculaChatMetadata.ACCEPTANCE_RATE, s.acceptanceRate());
        map.put(SpeculaChatMetadata.MEAN_ACCEPTANCE_LENGTH, s.meanAcceptanceLength());
        map.put(SpeculaChatMetadata.TOKENS_PER_SECOND, s.decodeTokensPerSecond());
        return map;
    }

    /**
     * The prompt to run: tool use refused, options completed from the defaults. Package access for testing.
     */
    Prompt buildRequestPrompt(Prompt prompt) {
        Assert.notNull(prompt, "prompt must not be null");
        ChatOptions runtime = prompt.getOptions();
        if (runtime instanceof ToolCallingChatOptions toolOptions && toolOptions.getToolCallbacks() != null
                && !toolOptions.getToolCallbacks().isEmpty()) {
            throw new IllegalArgumentException("Specula does not support tool calling: the prompt's options define "
                    + toolOptions.getToolCallbacks().size() + " tool callback(s); remove the tools from the request");
        }
        for (Message message : prompt.getInstructions()) {
            toChatMessage(message);
        }
        return prompt.mutate().chatOptions(resolveOptions(runtime)).build();
    }

    /** The defaults overridden field by field by the non-null values of the runtime options. */
    SpeculaChatOptions resolveOptions(@Nullable ChatOptions runtime) {
        if (runtime == null) {
            return this.defaultOptions;
        }
        SpeculaChatOptions.Builder builder = this.defaultOptions.mutate();
        if (runtime.getModel() != null) {
            builder.model(runtime.getModel());
        }
        if (runtime.getTemperature() != null) {
            builder.temperature(runtime.getTemperature());
        }
        if (runtime.getTopP() != null) {
            builder.topP(runtime.getTopP());
        }
        if (runtime.getTopK() != null) {
            builder.topK(runtime.getTopK());
        }
        if (runtime.getMaxTokens() != null) {
            builder.maxTokens(runtime.getMaxTokens());
        }
        if (runtime.getStopSequences() != null) {
            builder.stopSequences(runtime.getStopSequences());
        }
        if (runtime.getFrequencyPenalty() != null) {
            builder.frequencyPenalty(runtime.getFrequencyPenalty());
        }
        if (runtime.getPresencePenalty() != null) {
            builder.presencePenalty(runtime.getPresencePenalty());
        }
        if (runtime instanceof SpeculaChatOptions specula) {
            if (specula.getSeed() != null) {
                builder.seed(specula.getSeed());
            }
            if (specula.getSpeculative() != null) {
                builder.speculative(specula.getSpeculative());
            }
            if (specula.getDraftTokens() != null) {
                builder.draftTokens(specula.getDraftTokens());
            }
            if (specula.getDraftPolicy() != null) {
                builder.draftPolicy(specula.getDraftPolicy());
            }
        }
        return builder.build();
    }

    /** Tokenizes the prompt and turns its options into the engine's request and speculation settings. */
    PreparedRequest prepare(Prompt prompt, BooleanSupplier cancelled) {
        SpeculaChatOptions options = (SpeculaChatOptions) Objects.requireNonNull(prompt.getOptions());
        // A saturated engine refuses before the chat template and the tokenizer do any work.
        this.engine.rejectIfSaturated();
        if (prompt.getInstructions().stream().allMatch(m -> m.getText() == null || m.getText().isBlank())) {
            throw new SpeculaException("prompt: expected at least one message with text, got "
                    + (prompt.getInstructions().isEmpty() ? "no messages" : "only empty messages"));
        }
        int[] promptIds = encode(prompt.getInstructions());
        int contextLength = this.engine.info().contextLength();
        int room = contextLength > 0 ? contextLength - promptIds.length : Integer.MAX_VALUE;
        if (room < 1) {
            throw new SpeculaException("prompt: " + promptIds.length + " tokens leave no room in the context window of "
                    + contextLength + " tokens; shorten the conversation or raise the maximum context");
        }
        // Unset: the rest of the context, at most the engine's cap (a request that asks for more is refused).
        int cap = this.engine.maxTokensCap();
        int maxTokens = options.getMaxTokens() != null ? options.getMaxTokens() : cap > 0 ? Math.min(room, cap) : room;
        SamplingParams sampling = new SamplingParams(
                Objects.requireNonNullElse(options.getTemperature(), DEFAULT_TEMPERATURE),
                Objects.requireNonNullElse(options.getTopK(), DEFAULT_TOP_K),
                Objects.requireNonNullElse(options.getTopP(), DEFAULT_TOP_P), options.getSeed(),
                Objects.requireNonNullElse(options.getFrequencyPenalty(), 0.0),
                Objects.requireNonNullElse(options.getPresencePenalty(), 0.0));
        SpeculationSettings speculation = new SpeculationSettings(
                Objects.requireNonNullElse(options.getSpeculative(), SpeculationSettings.DEFAULT.enabled()),
                Objects.requireNonNullElse(options.getDraftTokens(), SpeculationSettings.DEFAULT.draftTokens()),
                Objects.requireNonNullElse(options.getDraftPolicy(), SpeculationSettings.DEFAULT.policy()));
        GenerationRequest generation = new GenerationRequest(promptIds, maxTokens, sampling,
                options.getStopSequences(), List.of(), cancelled);
        return new PreparedRequest(generation, speculation);
    }

    /**
     * Renders the conversation with the chat template (or the plain format) and encodes it. A template renders the
     * special tokens (BOS) itself, so its text is encoded without adding them again. Special-token text in messages
     * is tokenized as text unless {@code parseSpecialTokensInMessages} (see {@link Tokenizer#encodeChat}).
     */
    int[] encode(List<Message> messages) {
        List<ChatMessage> chat = messages.stream().map(SpeculaChatModel::toChatMessage).toList();
        Tokenizer tokenizer = this.engine.tokenizer();
        ChatTemplate template = tokenizer.chatTemplate();
        if (template != null) {
            return tokenizer.encodeChat(chat, true, this.parseSpecialTokensInMessages);
        }
        return tokenizer.encode(plainFormat(chat), true, this.parseSpecialTokensInMessages);
    }

    /** The conversation in the documented plain format, ending with the assistant's turn. */
    static String plainFormat(List<ChatMessage> messages) {
        StringBuilder text = new StringBuilder();
        for (ChatMessage message : messages) {
            String role = switch (message.role()) {
                case "system" -> "System";
                case "assistant" -> "Assistant";
                default -> "User";
            };
            text.append(role).append(": ").append(message.content()).append('\n');
        }
        return text.append("Assistant:").toString();
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

    /** The engine's view of one prompt. */
    record PreparedRequest(GenerationRequest generation, SpeculationSettings speculation) {
    }

    public static final class Builder {

        private @Nullable SpeculaEngine engine;

        private SpeculaChatOptions options = SpeculaChatOptions.builder().build();

        private ObservationRegistry observationRegistry = ObservationRegistry.NOOP;

        private Scheduler scheduler = Schedulers.boundedElastic();

        private boolean parseSpecialTokensInMessages;

        private Builder() {
        }

        /**
         * {@code false} (the default): special tokens only where the chat template puts them; {@code true}: special-token
         * text in messages becomes special tokens, as in transformers (usually from
         * {@code spring.ai.specula.parse-special-tokens-in-messages}).
         */
        public Builder parseSpecialTokensInMessages(boolean parseSpecialTokensInMessages) {
            this.parseSpecialTokensInMessages = parseSpecialTokensInMessages;
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

        /** Where streamed generations run; {@link Schedulers#boundedElastic()} by default. */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = scheduler;
            return this;
        }

        public SpeculaChatModel build() {
            Assert.state(this.engine != null, "engine must not be null");
            return new SpeculaChatModel(this.engine, this.options, this.observationRegistry, this.scheduler,
                    this.parseSpecialTokensInMessages);
        }
    }
}
