package io.specula.speculative.policy;

import io.specula.SpeculaException;
import io.specula.speculative.drafter.DraftGate;

/**
 * Drafts up to γmax tokens but stops as soon as the drafter's top probability for the next token falls below a
 * threshold (llama.cpp's {@code --draft-p-min}, default 0.75; llama.cpp #25908 blamed a default of 0 for collapsed
 * acceptance). An unsure drafter is usually wrong, and every rejected token costs a drafter step and a wider target
 * pass. If even the first token is unsure, the step is a plain target step.
 */
public final class ConfidencePolicy implements DraftLengthPolicy {

    public static final double DEFAULT_THRESHOLD = 0.75;

    private final int maxDraftTokens;
    private final double threshold;
    private final DraftGate gate;

    public ConfidencePolicy(int maxDraftTokens) {
        this(maxDraftTokens, DEFAULT_THRESHOLD);
    }

    public ConfidencePolicy(int maxDraftTokens, double threshold) {
        this.maxDraftTokens = DraftPolicy.checkedDraftTokens(maxDraftTokens);
        if (!(threshold >= 0 && threshold <= 1)) {
            throw new SpeculaException("confidence threshold: expected a probability in [0, 1], got " + threshold);
        }
        this.threshold = threshold;
        this.gate = (position, topProbability) -> topProbability >= this.threshold;
    }

    public double threshold() {
        return threshold;
    }

    @Override
    public int maxDraftTokens() {
        return maxDraftTokens;
    }

    @Override
    public int nextDraftLength(StepContext step) {
        int limit = step.limit();
        return Math.min(maxDraftTokens, limit);
    }

    @Override
    public DraftGate gate() {
        return gate;
    }

    @Override
    public void observe(StepOutcome outcome) {
    }

    @Override
    public String name() {
        return "confidence";
    }
}
