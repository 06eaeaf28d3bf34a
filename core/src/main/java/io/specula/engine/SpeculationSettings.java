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

    private static final java.util.Set<String> POLICIES = java.util.Set.of("adaptive", "fixed", "heuristic",
            "confidence");

    public static final SpeculationSettings DEFAULT = new SpeculationSettings(true, 4, "adaptive");

    public static final SpeculationSettings OFF = new SpeculationSettings(false, 4, "adaptive");

    public SpeculationSettings {
        if (draftTokens < 1 || draftTokens > MAX_DRAFT_TOKENS) {
            throw new SpeculaException("draftTokens: expected an integer in 1.." + MAX_DRAFT_TOKENS + ", got " + draftTokens);
        }
        policy = policy == null ? "adaptive" : policy;
        if (!POLICIES.contains(policy.trim().toLowerCase(java.util.Locale.ROOT))) {
            throw new SpeculaException("draftPolicy: expected one of adaptive, fixed, heuristic, confidence, got '"
                    + policy + "'");
        }
    }
}
