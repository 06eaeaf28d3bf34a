package io.specula.autoconfigure;

import java.util.List;
import java.util.Set;

import io.specula.chat.SpeculaChatOptions;
import io.specula.engine.SpeculationSettings;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * Default options of Specula chat requests ({@code spring.ai.specula.chat.*}), flattened as in Spring AI 2.0. A
 * request's own options override them field by field. Unknown keys under {@code spring.ai.specula.chat} fail
 * start-up, naming the key.
 */
@ConfigurationProperties(prefix = SpeculaChatProperties.CONFIG_PREFIX, ignoreUnknownFields = false)
public class SpeculaChatProperties implements Validator {

    public static final String CONFIG_PREFIX = "spring.ai.specula.chat";

    static final Set<String> DRAFT_POLICIES = Set.of("adaptive", "fixed", "heuristic", "confidence");

    /** Sampling temperature; 0 picks the most likely token (greedy decoding). */
    private Double temperature = 0.7;

    /** Nucleus sampling: keep the smallest set of tokens whose probability reaches top-p; 1 keeps all. */
    private Double topP = 1.0;

    /** Keep only the top-k most likely tokens; 0 keeps all. */
    private Integer topK = 0;

    /** Most tokens to generate per request; unset generates until the end of the answer or the context window. */
    private @Nullable Integer maxTokens;

    /** Sequences that end the answer (not included in it). */
    private @Nullable List<String> stop;

    /** Seed of the sampler's random generator, for reproducible sampling; unset picks a random seed per request. */
    private @Nullable Long seed;

    /** Subtracted from a token's logit once per earlier occurrence in the answer (OpenAI style). */
    private Double frequencyPenalty = 0.0;

    /** Subtracted from a token's logit if it already occurs in the answer (OpenAI style). */
    private Double presencePenalty = 0.0;

    /** Whether the drafter proposes tokens (speculative decoding); false decodes with the target alone. */
    private Boolean speculative = true;

    /** Largest number of tokens the drafter proposes per step (γmax), 1 to 16. */
    private Integer draftTokens = 4;

    /**
     * How many tokens to draft each step: "adaptive" (cost-aware; turns speculation off while it does not pay),
     * "fixed" (always draft-tokens), "heuristic" or "confidence" (stop drafting when the drafter is unsure).
     */
    private String draftPolicy = "adaptive";

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

    /** The default options of the chat model. */
    public SpeculaChatOptions toOptions() {
        return SpeculaChatOptions.builder()
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
            .draftPolicy(this.draftPolicy)
            .build();
    }

    @Override
    public boolean supports(Class<?> type) {
        return SpeculaChatProperties.class.isAssignableFrom(type);
    }

    @Override
    public void validate(Object target, Errors errors) {
        SpeculaChatProperties p = (SpeculaChatProperties) target;
        if (p.temperature != null && !(p.temperature >= 0 && Double.isFinite(p.temperature))) {
            errors.rejectValue("temperature", "specula.temperature", "expected a number >= 0 (0 = greedy)");
        }
        if (p.topP != null && !(p.topP > 0 && p.topP <= 1)) {
            errors.rejectValue("topP", "specula.topP", "expected a number in (0, 1]");
        }
        if (p.topK != null && p.topK < 0) {
            errors.rejectValue("topK", "specula.topK", "expected an integer >= 0 (0 = no limit)");
        }
        if (p.maxTokens != null && p.maxTokens < 1) {
            errors.rejectValue("maxTokens", "specula.maxTokens", "expected an integer >= 1, or no value");
        }
        if (p.stop != null && p.stop.stream().anyMatch(s -> s == null || s.isEmpty())) {
            errors.rejectValue("stop", "specula.stop", "expected non-empty stop sequences");
        }
        if (p.frequencyPenalty != null && !Double.isFinite(p.frequencyPenalty)) {
            errors.rejectValue("frequencyPenalty", "specula.frequencyPenalty", "expected a finite number");
        }
        if (p.presencePenalty != null && !Double.isFinite(p.presencePenalty)) {
            errors.rejectValue("presencePenalty", "specula.presencePenalty", "expected a finite number");
        }
        if (p.draftTokens != null && (p.draftTokens < 1 || p.draftTokens > SpeculationSettings.MAX_DRAFT_TOKENS)) {
            errors.rejectValue("draftTokens", "specula.draftTokens",
                    "expected an integer in 1.." + SpeculationSettings.MAX_DRAFT_TOKENS);
        }
        if (p.draftPolicy != null && !DRAFT_POLICIES.contains(p.draftPolicy)) {
            errors.rejectValue("draftPolicy", "specula.draftPolicy",
                    "expected one of \"adaptive\", \"fixed\", \"heuristic\", \"confidence\"");
        }
    }
}
