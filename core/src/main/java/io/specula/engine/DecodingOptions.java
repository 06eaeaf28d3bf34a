package io.specula.engine;

import io.specula.FieldError;
import io.specula.FieldErrors;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * How to decode one request: sampling, output limits and speculation. A {@code null} field is "not set" and takes
 * the documented default ({@link #DEFAULTS}; an unset token limit means the rest of the context, at most the
 * engine's cap). The rules are those of the layer that owns each field ({@link SamplingParams},
 * {@link GenerationRequest}, {@link DraftPolicy}); {@link #validate()} applies them all and reports every field at
 * fault.
 *
 * @param temperature      0 is greedy decoding
 * @param topP             nucleus sampling, in (0, 1]
 * @param topK             keep the k most likely tokens; 0 keeps all
 * @param maxTokens        the most tokens to generate
 * @param stopSequences    text that ends the output (a sequence listed twice is kept once)
 * @param seed             seed of the sampler; unset: a random seed per request
 * @param frequencyPenalty OpenAI-style frequency penalty, finite
 * @param presencePenalty  OpenAI-style presence penalty, finite
 * @param speculative      false decodes with the target alone
 * @param draftTokens      the largest draft length γmax
 * @param draftPolicy      how many tokens to draft each step
 */
public record DecodingOptions(Double temperature, Double topP, Integer topK, Integer maxTokens,
                              List<String> stopSequences, Long seed, Double frequencyPenalty, Double presencePenalty,
                              Boolean speculative, Integer draftTokens, DraftPolicy draftPolicy) {

    /** Nothing set: every field takes its default. */
    public static final DecodingOptions UNSET = new DecodingOptions(null, null, null, null, null, null, null, null,
            null, null, null);

    /** The defaults, the values an unset field takes; the token limit has none (the rest of the context). */
    public static final DecodingOptions DEFAULTS = new DecodingOptions(SamplingParams.DEFAULT_TEMPERATURE,
            SamplingParams.DEFAULT_TOP_P, SamplingParams.DEFAULT_TOP_K, null, List.of(), null,
            SamplingParams.DEFAULT_PENALTY, SamplingParams.DEFAULT_PENALTY, SpeculationSettings.DEFAULT_ENABLED,
            DraftPolicy.DEFAULT_DRAFT_TOKENS, DraftPolicy.DEFAULT);

    public DecodingOptions {
        if (stopSequences != null) {
            // Not List.copyOf: a null element is the caller's mistake, to be reported by validate(), not an NPE.
            stopSequences = Collections.unmodifiableList(new ArrayList<>(new LinkedHashSet<>(stopSequences)));
        }
    }

    /** Every field at fault, in field order; empty when the options are valid. */
    public List<FieldError> validate() {
        FieldErrors errors = new FieldErrors();
        check(errors);
        return errors.list();
    }

    /** Adds an error for every field that breaks its rule. */
    public void check(FieldErrors errors) {
        SamplingParams.check(temperature, topK, topP, frequencyPenalty, presencePenalty, errors);
        GenerationRequest.checkMaxTokens(maxTokens, errors);
        GenerationRequest.checkStopSequences(stopSequences, errors);
        DraftPolicy.checkDraftTokens(draftTokens, errors);
    }

    /** These options with every unset field taken from {@code defaults}. */
    public DecodingOptions orElse(DecodingOptions defaults) {
        return new DecodingOptions(or(temperature, defaults.temperature), or(topP, defaults.topP),
                or(topK, defaults.topK), or(maxTokens, defaults.maxTokens), or(stopSequences, defaults.stopSequences),
                or(seed, defaults.seed), or(frequencyPenalty, defaults.frequencyPenalty),
                or(presencePenalty, defaults.presencePenalty), or(speculative, defaults.speculative),
                or(draftTokens, defaults.draftTokens), or(draftPolicy, defaults.draftPolicy));
    }

    /** The sampling of these options, unset fields at their defaults. */
    public SamplingParams sampling() {
        DecodingOptions o = orElse(DEFAULTS);
        return new SamplingParams(o.temperature, o.topK, o.topP, o.seed, o.frequencyPenalty, o.presencePenalty);
    }

    /** The speculation settings of these options, unset fields at their defaults. */
    public SpeculationSettings speculation() {
        DecodingOptions o = orElse(DEFAULTS);
        return new SpeculationSettings(o.speculative, o.draftTokens, o.draftPolicy);
    }

    private static <T> T or(T value, T fallback) {
        return value != null ? value : fallback;
    }
}
