package io.specula.speculative.policy;

/**
 * Creates the per-request policy a request names. One instance per engine (per target/drafter pair): it owns the
 * {@link AdaptiveEstimates} that every adaptive request learns into and starts from.
 */
public final class DraftPolicies {

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

    /** A fresh policy for one request, drafting at most {@code maxDraftTokens} tokens a step. */
    public DraftLengthPolicy create(DraftPolicy policy, int maxDraftTokens) {
        return switch (policy == null ? DraftPolicy.DEFAULT : policy) {
            case ADAPTIVE -> new AdaptivePolicy(estimates, maxDraftTokens);
            case FIXED -> new FixedPolicy(maxDraftTokens);
            case HEURISTIC -> new HeuristicPolicy(maxDraftTokens);
            case CONFIDENCE -> new ConfidencePolicy(maxDraftTokens);
        };
    }
}
