package io.specula.speculative.policy;

/**
 * What happened in one decoding step, for a policy to learn from.
 *
 * @param requested    the draft length the policy asked for
 * @param drafted      tokens the drafter actually proposed (fewer when it stopped early or had nothing)
 * @param accepted     drafted tokens the target accepted
 * @param syncedTokens context tokens the drafter processed before drafting (see
 *                     {@link io.specula.speculative.drafter.Draft#syncedTokens}): its catch-up, the whole prompt for a
 *                     request's first draft; 0 when the drafter was not asked
 * @param draftNanos   time the drafter took (catch-up included)
 * @param verifyNanos  time of the target pass, which scored {@code drafted + 1} positions
 */
public record StepOutcome(int requested, int drafted, int accepted, int syncedTokens, long draftNanos,
                          long verifyNanos) {

    /** A plain target step: nothing drafted. */
    public static StepOutcome plain(long verifyNanos) {
        return new StepOutcome(0, 0, 0, 0, 0, verifyNanos);
    }

    public boolean allAccepted() {
        return drafted > 0 && accepted == drafted;
    }

    /** The step's whole time. */
    public long nanos() {
        return draftNanos + verifyNanos;
    }
}
