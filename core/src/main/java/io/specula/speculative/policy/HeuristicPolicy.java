package io.specula.speculative.policy;

/**
 * transformers' {@code num_assistant_tokens_schedule="heuristic"}: +2 after a step whose draft was fully accepted, −1
 * otherwise, within 1..γmax. Unlike transformers (which keeps the length on the assistant model's generation config
 * across calls) the length starts at γmax for every request.
 */
public final class HeuristicPolicy implements DraftLengthPolicy {

    private final int maxDraftTokens;
    private int current;

    public HeuristicPolicy(int maxDraftTokens) {
        this.maxDraftTokens = DraftPolicy.checkedDraftTokens(maxDraftTokens);
        this.current = maxDraftTokens;
    }

    @Override
    public int maxDraftTokens() {
        return maxDraftTokens;
    }

    @Override
    public int nextDraftLength(StepContext step) {
        int limit = step.limit();
        return Math.min(current, limit);
    }

    @Override
    public void observe(StepOutcome outcome) {
        if (outcome.drafted() == 0) {
            // A plain step (limit 0 or an empty draft) says nothing about the drafter.
            return;
        }
        current = outcome.allAccepted() ? Math.min(maxDraftTokens, current + 2) : Math.max(1, current - 1);
    }

    /** The draft length the next unconstrained step will ask for. */
    public int current() {
        return current;
    }

    @Override
    public String name() {
        return "heuristic";
    }
}
