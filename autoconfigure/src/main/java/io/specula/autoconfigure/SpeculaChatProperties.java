package io.specula.autoconfigure;

import java.util.List;

import io.specula.FieldError;
import io.specula.FieldErrors;
import io.specula.chat.SpeculaChatOptions;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * Default options of Specula chat requests ({@code spring.ai.specula.chat.*}), flattened as in Spring AI 2.0. A
 * request's own options override them field by field. The defaults and the rules are the engine's (its
 * {@code DecodingOptions}): a bad value fails start-up with the message a request would get. Unknown keys under
 * {@code spring.ai.specula.chat} fail start-up, naming the key.
 */
@ConfigurationProperties(prefix = SpeculaChatProperties.CONFIG_PREFIX, ignoreUnknownFields = false)
public class SpeculaChatProperties implements Validator {

    public static final String CONFIG_PREFIX = "spring.ai.specula.chat";

    /**
     * The model's name, Spring AI's portable key: it labels requests (the gen_ai.request.model tag) and responses
     * report the target they ran on. Specula serves the one target it loaded (spring.ai.specula.target); unset, the
     * name is the target directory's.
     */
    private @Nullable String model;

    /**
     * Whether ChatClient's .entity(..) uses Specula's structured output (decoding constrained by the JSON schema of the
     * type) without asking for it with useProviderStructuredOutput(). Not a request option: it configures the
     * auto-configured ChatClient.Builder.
     */
    private boolean nativeStructuredOutput = true;

    /** Sampling temperature; 0 picks the most likely token (greedy decoding). */
    private Double temperature = SamplingParams.DEFAULT_TEMPERATURE;

    /** Nucleus sampling: keep the smallest set of tokens whose probability reaches top-p; 1 keeps all. */
    private Double topP = SamplingParams.DEFAULT_TOP_P;

    /** Keep only the top-k most likely tokens; 0 keeps all. */
    private Integer topK = SamplingParams.DEFAULT_TOP_K;

    /** Most tokens to generate per request; unset generates until the end of the answer or the context window. */
    private @Nullable Integer maxTokens;

    /** Sequences that end the answer (not included in it). */
    private @Nullable List<String> stop;

    /** Seed of the sampler's random generator, for reproducible sampling; unset picks a random seed per request. */
    private @Nullable Long seed;

    /** Subtracted from a token's logit once per earlier occurrence in the answer (OpenAI style), a finite number. */
    private Double frequencyPenalty = SamplingParams.DEFAULT_PENALTY;

    /** Subtracted from a token's logit if it already occurs in the answer (OpenAI style), a finite number. */
    private Double presencePenalty = SamplingParams.DEFAULT_PENALTY;

    /** Whether the drafter proposes tokens (speculative decoding); false decodes with the target alone. */
    private Boolean speculative = SpeculationSettings.DEFAULT_ENABLED;

    /** Largest number of tokens the drafter proposes per step (γmax), 1 to 16. */
    private Integer draftTokens = DraftPolicy.DEFAULT_DRAFT_TOKENS;

    /**
     * How many tokens to draft each step: "adaptive" (cost-aware; turns speculation off while it does not pay),
     * "fixed" (always draft-tokens), "heuristic" or "confidence" (stop drafting when the drafter is unsure).
     */
    private String draftPolicy = DraftPolicy.DEFAULT.configName();

    public boolean isNativeStructuredOutput() {
        return this.nativeStructuredOutput;
    }

    public void setNativeStructuredOutput(boolean nativeStructuredOutput) {
        this.nativeStructuredOutput = nativeStructuredOutput;
    }

    public @Nullable String getModel() {
        return this.model;
    }

    public void setModel(@Nullable String model) {
        this.model = model;
    }

    public Double getTemperature() {
        return this.temperature;
    }

    public void setTemperature(Double temperature) {
        this.temperature = temperature;
    }

    public Double getTopP() {
        return this.topP;
    }

    public void setTopP(Double topP) {
        this.topP = topP;
    }

    public Integer getTopK() {
        return this.topK;
    }

    public void setTopK(Integer topK) {
        this.topK = topK;
    }

    public @Nullable Integer getMaxTokens() {
        return this.maxTokens;
    }

    public void setMaxTokens(@Nullable Integer maxTokens) {
        this.maxTokens = maxTokens;
    }

    public @Nullable List<String> getStop() {
        return this.stop;
    }

    public void setStop(@Nullable List<String> stop) {
        this.stop = stop;
    }

    public @Nullable Long getSeed() {
        return this.seed;
    }

    public void setSeed(@Nullable Long seed) {
        this.seed = seed;
    }

    public Double getFrequencyPenalty() {
        return this.frequencyPenalty;
    }

    public void setFrequencyPenalty(Double frequencyPenalty) {
        this.frequencyPenalty = frequencyPenalty;
    }

    public Double getPresencePenalty() {
        return this.presencePenalty;
    }

    public void setPresencePenalty(Double presencePenalty) {
        this.presencePenalty = presencePenalty;
    }

    public Boolean getSpeculative() {
        return this.speculative;
    }

    public void setSpeculative(Boolean speculative) {
        this.speculative = speculative;
    }

    public Integer getDraftTokens() {
        return this.draftTokens;
    }

    public void setDraftTokens(Integer draftTokens) {
        this.draftTokens = draftTokens;
    }

    public String getDraftPolicy() {
        return this.draftPolicy;
    }

    public void setDraftPolicy(String draftPolicy) {
        this.draftPolicy = draftPolicy;
    }

    /** The default options of the chat model; call after validation (an unknown draft policy fails here). */
    public SpeculaChatOptions toOptions() {
        return toOptions(DraftPolicy.parse(this.draftPolicy));
    }

    private SpeculaChatOptions toOptions(@Nullable DraftPolicy policy) {
        return SpeculaChatOptions.builder()
            .model(this.model)
            .temperature(this.temperature)
            .topP(this.topP)
            .topK(this.topK)
            .maxTokens(this.maxTokens)
            .stopSequences(this.stop)
            .seed(this.seed)
            .frequencyPenalty(this.frequencyPenalty)
            .presencePenalty(this.presencePenalty)
            .speculative(this.speculative)
            .draftTokens(this.draftTokens)
            .draftPolicy(policy)
            .build();
    }

    @Override
    public boolean supports(Class<?> type) {
        return SpeculaChatProperties.class.isAssignableFrom(type);
    }

    /** The engine's rules of each option, reported against the property that holds it. */
    @Override
    public void validate(Object target, Errors errors) {
        SpeculaChatProperties p = (SpeculaChatProperties) target;
        FieldErrors found = new FieldErrors();
        DraftPolicy policy = DraftPolicy.parse(p.draftPolicy, found);
        p.toOptions(policy).toDecodingOptions().check(found);
        for (FieldError error : found.list()) {
            String field = propertyField(error.field());
            errors.rejectValue(field, "specula." + field, error.message());
        }
    }

    /** The property that holds an option: the same name, but {@code stop} for the stop sequences. */
    static String propertyField(String option) {
        return option.startsWith("stopSequences") ? "stop" : option;
    }
}
