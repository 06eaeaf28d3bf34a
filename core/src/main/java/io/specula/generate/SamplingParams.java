package io.specula.generate;

import io.specula.FieldErrors;

/**
 * How the next token is chosen from the target's logits. Temperature 0 is greedy decoding. The same parameters turn
 * the drafter's logits into its proposal distribution, so speculative sampling follows the target's warped
 * distribution exactly.
 *
 * <p>This record owns the sampling rules and defaults ({@link #check}, {@code DEFAULT_*}): the engine's request
 * validation, the Spring properties and the sample's HTTP validation all call them rather than restate them.
 *
 * @param temperature      0 for greedy; otherwise logits are divided by it
 * @param topK             keep the k most likely tokens; 0 keeps all
 * @param topP             keep the smallest set whose probability reaches p; 1 keeps all
 * @param seed             seed of the request's random generator; {@code null} for a random seed
 * @param frequencyPenalty subtracted from a token's logit once per earlier occurrence in the output (OpenAI style)
 * @param presencePenalty  subtracted from a token's logit if it occurred in the output at all
 */
public record SamplingParams(double temperature, int topK, double topP, Long seed,
                             double frequencyPenalty, double presencePenalty) {

    /** Temperature of a chat request that sets none. */
    public static final double DEFAULT_TEMPERATURE = 0.7;

    /** Top-p of a request that sets none: keep every token. */
    public static final double DEFAULT_TOP_P = 1.0;

    /** Top-k of a request that sets none: no limit. */
    public static final int DEFAULT_TOP_K = 0;

    /** Frequency and presence penalty of a request that sets none. */
    public static final double DEFAULT_PENALTY = 0.0;

    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, null, 0, 0);

    public SamplingParams {
        FieldErrors errors = new FieldErrors();
        check(temperature, topK, topP, frequencyPenalty, presencePenalty, errors);
        errors.throwIfAny();
    }

    /**
     * The sampling rules, the one place they are written: adds an error for every value that breaks one. A
     * {@code null} value is "not set" and passes (its default applies).
     */
    public static void check(Double temperature, Integer topK, Double topP, Double frequencyPenalty,
                             Double presencePenalty, FieldErrors errors) {
        errors.check("temperature", temperature, t -> t >= 0 && Double.isFinite(t),
                "expected a number >= 0 (0 = greedy)");
        errors.check("topP", topP, p -> p > 0 && p <= 1, "expected a number in (0, 1]");
        errors.check("topK", topK, k -> k >= 0, "expected an integer >= 0 (0 = no limit)");
        // Any finite penalty: the sampler stays exact for every one (LogitsProcessorTest), as llama.cpp allows;
        // OpenAI's -2..2 is a convention of its API, not a limit of the math.
        errors.check("frequencyPenalty", frequencyPenalty, Double::isFinite, "expected a finite number");
        errors.check("presencePenalty", presencePenalty, Double::isFinite, "expected a finite number");
    }

    public static SamplingParams greedy() {
        return GREEDY;
    }

    public boolean isGreedy() {
        return temperature == 0;
    }

    public boolean hasPenalties() {
        return frequencyPenalty != 0 || presencePenalty != 0;
    }
}
