package io.specula.engine;

import io.specula.SpeculaException;

/**
 * Per-request speculative decoding settings.
 *
 * @param enabled     false decodes with the target alone
 * @param draftTokens the largest draft length γmax (1..16)
 * @param policy      draft-length policy: "adaptive" (the default: cost-aware, turns speculation off when it does
 *                    not pay), "fixed", "heuristic", "confidence"
 */
public record SpeculationSettings(boolean enabled, int draftTokens, String policy) {

    public static final int MAX_DRAFT_TOKENS = 16;

    public static final SpeculationSettings DEFAULT = new SpeculationSettings(true, 4, "adaptive");

    public static final SpeculationSettings OFF = new SpeculationSettings(false, 4, "adaptive");

    public SpeculationSettings {
        if (draftTokens < 1 || draftTokens > MAX_DRAFT_TOKENS) {
            throw new SpeculaException("draftTokens: expected an integer in 1.." + MAX_DRAFT_TOKENS + ", got " + draftTokens);
        }
        policy = policy == null ? "adaptive" : policy;
    }
}
