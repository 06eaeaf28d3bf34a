package io.specula.speculative.policy;

import io.specula.SpeculaException;
import io.specula.engine.SpeculationSettings;

import java.util.Locale;

/**
 * Creates the per-request policy named by {@link SpeculationSettings#policy()}. One instance per engine (per
 * target/drafter pair): it owns the {@link AdaptiveEstimates} that every adaptive request learns into and starts from.
 */
public final class DraftPolicies {

    public static final String ADAPTIVE = "adaptive";
    public static final String FIXED = "fixed";
    public static final String HEURISTIC = "heuristic";
    public static final String CONFIDENCE = "confidence";

    private final AdaptiveEstimates estimates;

    public DraftPolicies() {
        this(new AdaptiveEstimates());
    }

    public DraftPolicies(AdaptiveEstimates estimates) {
        this.estimates = estimates;
    }

    /** The shared state of the adaptive policy (for its snapshot). */
    public AdaptiveEstimates estimates() {
        return estimates;
    }

    public DraftPolicy create(SpeculationSettings settings) {
        return create(settings.policy(), settings.draftTokens());
    }

    public DraftPolicy create(String name, int maxDraftTokens) {
        String n = name == null ? ADAPTIVE : name.trim().toLowerCase(Locale.ROOT);
        switch (n) {
            case ADAPTIVE:
                return new AdaptivePolicy(estimates, maxDraftTokens);
            case FIXED:
                return new FixedPolicy(maxDraftTokens);
            case HEURISTIC:
                return new HeuristicPolicy(maxDraftTokens);
            case CONFIDENCE:
                return new ConfidencePolicy(maxDraftTokens);
            default:
                throw new SpeculaException("draftPolicy: expected one of adaptive, fixed, heuristic, confidence,"
                        + " got '" + name + "'");
        }
    }

    static int checkDraftTokens(int draftTokens) {
        if (draftTokens < 1 || draftTokens > SpeculationSettings.MAX_DRAFT_TOKENS) {
            throw new SpeculaException("draftTokens: expected an integer in 1.." + SpeculationSettings.MAX_DRAFT_TOKENS
                    + ", got " + draftTokens);
        }
        return draftTokens;
    }
}
