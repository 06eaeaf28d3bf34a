package io.specula.speculative.policy;

/** Always drafts γ tokens (vLLM's {@code num_speculative_tokens}): predictable, and slower when the drafter is poor. */
public final class FixedPolicy implements DraftLengthPolicy {

    private final int draftTokens;

    public FixedPolicy(int draftTokens) {
        this.draftTokens = DraftPolicy.checkedDraftTokens(draftTokens);
    }

    @Override
    public int maxDraftTokens() {
        return draftTokens;
    }

    @Override
    public int nextDraftLength(StepContext step) {
        int limit = step.limit();
        return Math.min(draftTokens, limit);
    }

    @Override
    public void observe(StepOutcome outcome) {
    }

    @Override
    public String name() {
        return "fixed";
    }
}
