package io.specula.speculative;

import io.specula.FieldErrors;
import io.specula.speculative.policy.DraftPolicy;

/**
 * Per-request speculative decoding settings. The rules and defaults of the draft length and the policy are
 * {@link DraftPolicy}'s.
 *
 * @param enabled     false decodes with the target alone
 * @param draftTokens the largest draft length γmax (1..{@value DraftPolicy#MAX_DRAFT_TOKENS})
 * @param policy      the draft-length policy; {@code null} means {@link DraftPolicy#DEFAULT}
 */
public record SpeculationSettings(boolean enabled, int draftTokens, DraftPolicy policy) {

    /** Whether a request that says nothing speculates (when the engine has a drafter). */
    public static final boolean DEFAULT_ENABLED = true;

    public static final SpeculationSettings DEFAULT = new SpeculationSettings(DEFAULT_ENABLED,
            DraftPolicy.DEFAULT_DRAFT_TOKENS, DraftPolicy.DEFAULT);

    public static final SpeculationSettings OFF = new SpeculationSettings(false, DraftPolicy.DEFAULT_DRAFT_TOKENS,
            DraftPolicy.DEFAULT);

    public SpeculationSettings {
        FieldErrors errors = new FieldErrors();
        DraftPolicy.checkDraftTokens(draftTokens, errors);
        errors.throwIfAny();
        policy = policy == null ? DraftPolicy.DEFAULT : policy;
    }
}
