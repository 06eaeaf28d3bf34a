package io.specula.chat;

import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.specula.FieldError;
import io.specula.engine.DecodingOptions;
import io.specula.speculative.policy.DraftPolicy;
import org.jspecify.annotations.Nullable;

import org.springframework.ai.chat.prompt.ChatOptions;
import org.springframework.ai.chat.prompt.DefaultChatOptionsBuilder;
import org.springframework.ai.model.tool.DefaultToolCallingChatOptions;
import org.springframework.ai.model.tool.StructuredOutputChatOptions;
import org.springframework.ai.model.tool.ToolCallingChatOptions;
import org.springframework.ai.tool.ToolCallback;

/**
 * Options of a {@link SpeculaChatModel} request: the portable Spring AI chat options plus the sampling seed and the
 * speculative decoding settings. Immutable; use {@link #builder()} or {@link #mutate()}. A {@code null} field means
 * "not set": the model's defaults (from {@code spring.ai.specula.chat.*}) fill it in, and the engine's documented
 * defaults what those leave unset ({@link DecodingOptions#DEFAULTS}).
 *
 * <p>
 * {@link #getModel() model} is informational: Specula serves the one target model it loaded, whose name it reports
 * as the response model; the option only labels the request (the {@code gen_ai.request.model} observation tag).
 *
 * <p>
 * Tool calling ({@link ToolCallingChatOptions}): the tool callbacks' definitions go to the model's chat template, the
 * model's tool calls come back on the response's {@code AssistantMessage}, and Spring AI's {@code ToolCallingAdvisor}
 * (which {@code ChatClient} registers) runs the tools with its {@code ToolCallingManager} and loops. Structured output
 * ({@link StructuredOutputChatOptions}): with an {@link #getOutputSchema() output schema} the answer is decoded under
 * the schema's grammar, so it is JSON valid for the schema.
 */
public class SpeculaChatOptions implements ToolCallingChatOptions, StructuredOutputChatOptions {

    private final @Nullable String model;

    private final @Nullable Double frequencyPenalty;

    private final @Nullable Integer maxTokens;

    private final @Nullable Double presencePenalty;

    private final @Nullable List<String> stopSequences;

    private final @Nullable Double temperature;

    private final @Nullable Integer topK;

    private final @Nullable Double topP;

    private final @Nullable Long seed;

    private final @Nullable Boolean speculative;

    private final @Nullable Integer draftTokens;

    private final @Nullable DraftPolicy draftPolicy;

    private final @Nullable List<ToolCallback> toolCallbacks;

    private final @Nullable Map<String, Object> toolContext;

    private final @Nullable String outputSchema;

    protected SpeculaChatOptions(@Nullable String model, @Nullable Double frequencyPenalty, @Nullable Integer maxTokens,
            @Nullable Double presencePenalty, @Nullable List<String> stopSequences, @Nullable Double temperature,
            @Nullable Integer topK, @Nullable Double topP, @Nullable Long seed, @Nullable Boolean speculative,
            @Nullable Integer draftTokens, @Nullable DraftPolicy draftPolicy) {
        this(model, frequencyPenalty, maxTokens, presencePenalty, stopSequences, temperature, topK, topP, seed,
                speculative, draftTokens, draftPolicy, null, null, null);
    }

    protected SpeculaChatOptions(@Nullable String model, @Nullable Double frequencyPenalty, @Nullable Integer maxTokens,
            @Nullable Double presencePenalty, @Nullable List<String> stopSequences, @Nullable Double temperature,
            @Nullable Integer topK, @Nullable Double topP, @Nullable Long seed, @Nullable Boolean speculative,
            @Nullable Integer draftTokens, @Nullable DraftPolicy draftPolicy, @Nullable List<ToolCallback> toolCallbacks,
            @Nullable Map<String, Object> toolContext, @Nullable String outputSchema) {
        this.toolCallbacks = toolCallbacks != null ? List.copyOf(toolCallbacks) : null;
        this.toolContext = toolContext != null ? Map.copyOf(toolContext) : null;
        this.outputSchema = outputSchema;
        this.model = model;
        this.frequencyPenalty = frequencyPenalty;
        this.maxTokens = maxTokens;
        this.presencePenalty = presencePenalty;
        this.stopSequences = stopSequences != null ? List.copyOf(stopSequences) : null;
        this.temperature = temperature;
        this.topK = topK;
        this.topP = topP;
        this.seed = seed;
        this.speculative = speculative;
        this.draftTokens = draftTokens;
        this.draftPolicy = draftPolicy;
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public @Nullable String getModel() {
        return this.model;
    }

    @Override
    public @Nullable Double getFrequencyPenalty() {
        return this.frequencyPenalty;
    }

    @Override
    public @Nullable Integer getMaxTokens() {
        return this.maxTokens;
    }

    @Override
    public @Nullable Double getPresencePenalty() {
        return this.presencePenalty;
    }

    @Override
    public @Nullable List<String> getStopSequences() {
        return this.stopSequences;
    }

    @Override
    public @Nullable Double getTemperature() {
        return this.temperature;
    }

    @Override
    public @Nullable Integer getTopK() {
        return this.topK;
    }

    @Override
    public @Nullable Double getTopP() {
        return this.topP;
    }

    /** Seed of the request's random generator; {@code null} for a random seed. */
    public @Nullable Long getSeed() {
        return this.seed;
    }

    /** Whether the drafter proposes tokens for this request; {@code false} decodes with the target alone. */
    public @Nullable Boolean getSpeculative() {
        return this.speculative;
    }

    /** The largest draft length γmax (1..{@value DraftPolicy#MAX_DRAFT_TOKENS}). */
    public @Nullable Integer getDraftTokens() {
        return this.draftTokens;
    }

    /** The draft-length policy. */
    public @Nullable DraftPolicy getDraftPolicy() {
        return this.draftPolicy;
    }

    /** The tools the model may call (their definitions go to the chat template). */
    @Override
    public @Nullable List<ToolCallback> getToolCallbacks() {
        return this.toolCallbacks;
    }

    /** Context given to the tools when they run (Spring AI's {@code ToolContext}); never shown to the model. */
    @Override
    public @Nullable Map<String, Object> getToolContext() {
        return this.toolContext;
    }

    /** A JSON schema the answer must be valid for: decoding is constrained by its grammar. */
    @Override
    public @Nullable String getOutputSchema() {
        return this.outputSchema;
    }

    /** These options as the engine takes them ({@code model} only labels the request and is left out). */
    public DecodingOptions toDecodingOptions() {
        return new DecodingOptions(this.temperature, this.topP, this.topK, this.maxTokens, this.stopSequences, this.seed,
                this.frequencyPenalty, this.presencePenalty, this.speculative, this.draftTokens, this.draftPolicy);
    }

    /**
     * Every option that breaks the engine's rules (the same rules and messages as the engine applies to every request
     * and {@code spring.ai.specula.chat.*} at start-up), for callers that check a request before sending it; empty
     * when the options are valid. The max-tokens cap is the engine's configuration and is checked by the engine.
     */
    public List<FieldError> validate() {
        return toDecodingOptions().validate();
    }

    @Override
    public Builder mutate() {
        return builder().model(this.model)
            .frequencyPenalty(this.frequencyPenalty)
            .maxTokens(this.maxTokens)
            .presencePenalty(this.presencePenalty)
            .stopSequences(this.stopSequences)
            .temperature(this.temperature)
            .topK(this.topK)
            .topP(this.topP)
            .seed(this.seed)
            .speculative(this.speculative)
            .draftTokens(this.draftTokens)
            .draftPolicy(this.draftPolicy)
            .toolCallbacks(this.toolCallbacks)
            .toolContext(this.toolContext)
            .outputSchema(this.outputSchema);
    }

    @Override
    public boolean equals(@Nullable Object o) {
        if (this == o) {
            return true;
        }
        if (o == null || getClass() != o.getClass()) {
            return false;
        }
        SpeculaChatOptions that = (SpeculaChatOptions) o;
        return Objects.equals(this.model, that.model) && Objects.equals(this.frequencyPenalty, that.frequencyPenalty)
                && Objects.equals(this.maxTokens, that.maxTokens)
                && Objects.equals(this.presencePenalty, that.presencePenalty)
                && Objects.equals(this.stopSequences, that.stopSequences)
                && Objects.equals(this.temperature, that.temperature) && Objects.equals(this.topK, that.topK)
                && Objects.equals(this.topP, that.topP) && Objects.equals(this.seed, that.seed)
                && Objects.equals(this.speculative, that.speculative)
                && Objects.equals(this.draftTokens, that.draftTokens)
                && Objects.equals(this.draftPolicy, that.draftPolicy)
                && Objects.equals(this.toolCallbacks, that.toolCallbacks)
                && Objects.equals(this.toolContext, that.toolContext)
                && Objects.equals(this.outputSchema, that.outputSchema);
    }

    @Override
    public int hashCode() {
        return Objects.hash(this.model, this.frequencyPenalty, this.maxTokens, this.presencePenalty, this.stopSequences,
                this.temperature, this.topK, this.topP, this.seed, this.speculative, this.draftTokens,
                this.draftPolicy, this.toolCallbacks, this.toolContext, this.outputSchema);
    }

    @Override
    public String toString() {
        return "SpeculaChatOptions{model=" + this.model + ", temperature=" + this.temperature + ", topP=" + this.topP
                + ", topK=" + this.topK + ", maxTokens=" + this.maxTokens + ", stopSequences=" + this.stopSequences
                + ", seed=" + this.seed + ", frequencyPenalty=" + this.frequencyPenalty + ", presencePenalty="
                + this.presencePenalty + ", speculative=" + this.speculative + ", draftTokens=" + this.draftTokens
                + ", draftPolicy=" + this.draftPolicy + ", toolCallbacks="
                + (this.toolCallbacks == null ? null : this.toolCallbacks.size()) + ", outputSchema="
                + (this.outputSchema == null ? null : this.outputSchema.length() + " chars") + "}";
    }

    /** The builder users see; avoids the noisy generic parameter of {@link AbstractBuilder}. */
    public static class Builder extends AbstractBuilder<Builder> {

    }

    /**
     * Builder for {@link SpeculaChatOptions} and subclasses, following Spring AI's self-typed option builders (as
     * Ollama's: a {@link DefaultToolCallingChatOptions.Builder} that is also a structured-output builder).
     * {@link #combineWith} takes every non-null value of the other builder; stop sequences and tool callbacks are
     * appended and tool contexts merged, as in {@link DefaultChatOptionsBuilder} and
     * {@link DefaultToolCallingChatOptions.Builder}.
     */
    protected abstract static class AbstractBuilder<B extends AbstractBuilder<B>>
            extends DefaultToolCallingChatOptions.Builder<B> implements StructuredOutputChatOptions.Builder<B> {

        protected @Nullable String outputSchema;

        @Override
        public B outputSchema(@Nullable String outputSchema) {
            this.outputSchema = outputSchema;
            return self();
        }

        protected @Nullable Long seed;

        protected @Nullable Boolean speculative;

        protected @Nullable Integer draftTokens;

        protected @Nullable DraftPolicy draftPolicy;

        public B seed(@Nullable Long seed) {
            this.seed = seed;
            return self();
        }

        public B speculative(@Nullable Boolean speculative) {
            this.speculative = speculative;
            return self();
        }

        public B draftTokens(@Nullable Integer draftTokens) {
            this.draftTokens = draftTokens;
            return self();
        }

        public B draftPolicy(@Nullable DraftPolicy draftPolicy) {
            this.draftPolicy = draftPolicy;
            return self();
        }

        @Override
        public B combineWith(ChatOptions.Builder<?> other) {
            super.combineWith(other);
            if (other instanceof AbstractBuilder<?> that) {
                if (that.seed != null) {
                    this.seed = that.seed;
                }
                if (that.speculative != null) {
                    this.speculative = that.speculative;
                }
                if (that.draftTokens != null) {
                    this.draftTokens = that.draftTokens;
                }
                if (that.draftPolicy != null) {
                    this.draftPolicy = that.draftPolicy;
                }
                if (that.outputSchema != null) {
                    this.outputSchema = that.outputSchema;
                }
            }
            return self();
        }

        @Override
        public SpeculaChatOptions build() {
            return new SpeculaChatOptions(this.model, this.frequencyPenalty, this.maxTokens, this.presencePenalty,
                    this.stopSequences, this.temperature, this.topK, this.topP, this.seed, this.speculative,
                    this.draftTokens, this.draftPolicy, this.toolCallbacks, this.toolContext, this.outputSchema);
        }

    }

}
