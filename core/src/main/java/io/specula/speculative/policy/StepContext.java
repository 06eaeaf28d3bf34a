package io.specula.speculative.policy;

/**
 * What the generator tells a policy before a step.
 *
 * @param limit           the longest draft this step may have: γmax, less near the token limit or the end of the
 *                        context (0: the step must be plain)
 * @param backlog         tokens the drafter has not processed yet and would catch up on before drafting (the whole
 *                        sequence before a request's first draft; 1–2 in steady state; 0 for a stateless drafter)
 * @param remainingTokens tokens the request may still produce (its token limit minus its output so far)
 */
public record StepContext(int limit, int backlog, int remainingTokens) {

    /** A step in steady state (caught-up drafter, far from the token limit), for tests and simulations. */
    public static StepContext steady(int limit) {
        return new StepContext(limit, 1, Integer.MAX_VALUE);
    }
}
