package io.specula.generate;

import io.specula.SpeculaException;

/**
 * How the next token is chosen from the target's logits. Temperature 0 is greedy decoding. The same parameters turn
 * the drafter's logits into its proposal distribution, so speculative sampling follows the target's warped
 * distribution exactly.
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

    public static final SamplingParams GREEDY = new SamplingParams(0, 0, 1, null, 0, 0);

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) {
            throw new SpeculaException("temperature: expected a number >= 0, got " + temperature);
        }
        if (topK < 0) {
            throw new SpeculaException("topK: expected an integer >= 0 (0 = no limit), got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new SpeculaException("topP: expected a number in (0, 1], got " + topP);
        }
        if (!Double.isFinite(frequencyPenalty)) {
            throw new SpeculaException("frequencyPenalty: expected a finite number, got " + frequencyPenalty);
        }
        if (!Double.isFinite(presencePenalty)) {
            throw new SpeculaException("presencePenalty: expected a finite number, got " + presencePenalty);
        }
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
