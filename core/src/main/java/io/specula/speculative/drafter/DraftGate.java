package io.specula.speculative.drafter;

/**
 * Consulted by a drafter before it keeps each drafted token: the hook for confidence-based stopping (llama.cpp's
 * {@code --draft-p-min}, transformers' {@code assistant_confidence_threshold}).
 */
@FunctionalInterface
public interface DraftGate {

    /** Drafts every token it is asked for. */
    DraftGate ALWAYS = (position, topProbability) -> true;

    /**
     * @param position       0-based position in the draft of the token about to be kept
     * @param topProbability the drafter's largest probability for that position (softmax of its raw logits, before
     *                       the request's temperature and penalties); 1 for deterministic drafters
     * @return false to end the draft before this token
     */
    boolean keepDrafting(int position, float topProbability);
}
