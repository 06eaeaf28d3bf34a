package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;

/**
 * Speculative sampling (Leviathan et al. 2023, Chen et al. 2023): draft token x drawn from q is accepted with
 * probability min(1, p(x)/q(x)); at the first rejection the token is drawn from normalize(max(0, p − q)); when every
 * draft is accepted a bonus token is drawn from p after the last one. Each emitted token is then distributed exactly
 * as p, whatever q is.
 *
 * <p>p and q must be the <em>processed</em> distributions: penalties, temperature, top-k and top-p applied the same
 * way to both (the drafter uses the request's {@link LogitsProcessor}), with the penalty history including the
 * earlier drafts of the same step. A deterministic draft (q == null) is one-hot q: accepted with probability p(x), and
 * the residual is p without x.
 *
 * <p>Used for sampling requests without a seed: it accepts the most drafts of any exact rule, but its output depends
 * on what was drafted (a token's fate depends on q), so the same seed would not give the same text under different
 * draft lengths; seeded requests use {@link CoupledAcceptance}. Its draws are keyed to output positions like every
 * draw ({@link TokenSampler}), in streams of their own.
 */
public final class RejectionSampler implements AcceptanceRule {

    public static final RejectionSampler INSTANCE = new RejectionSampler();

    /** The streams of the accept/reject uniforms and of the residual draws (bonus tokens use the tokens stream). */
    static final int ACCEPT_STREAM = 1;
    static final int RESIDUAL_STREAM = 2;
    /** Keys the drafter's own draws, which must be independent of the target's. */
    private static final long DRAFTER_SALT = 0x5EC0DEL;

    private RejectionSampler() {
    }

    @Override
    public Verdict judge(float[][] targetLogits, Draft draft, int position, LogitsProcessor processor,
                         TokenCounts history, TokenSampler sampler) {
        int[] tokens = draft.tokens();
        int accepted = 0;
        try {
            while (true) {
                float[] p = processor.probabilities(targetLogits[accepted], history);
                if (accepted == tokens.length) {
                    return new Verdict(accepted, sampler.sample(p, position + accepted));
                }
                int x = tokens[accepted];
                float px = x < p.length ? p[x] : 0f;
                float qx = draft.qOf(accepted);
                // u < p/q accepts with probability min(1, p/q); px >= qx always accepts; a token the target rules
                // out (p = 0, e.g. cut by its top-k) is never accepted, whatever q says.
                if (px > 0 && (px >= qx || sampler.uniform(position + accepted, ACCEPT_STREAM) * qx < px)) {
                    history.add(x);
                    accepted++;
                    continue;
                }
                return new Verdict(accepted, sampler.sample(residual(p, draft.q() == null ? null : draft.q()[accepted],
                        x), position + accepted, RESIDUAL_STREAM));
            }
        } finally {
            for (int i = 0; i < accepted; i++) {
                history.remove(tokens[i]);
            }
        }
    }

    /** Rejection sampling needs the draft drawn independently of the accept/reject uniforms and residual draws. */
    @Override
    public TokenSampler drafterSampler(TokenSampler requestSampler) {
        return requestSampler.independent(DRAFTER_SALT);
    }

    /**
     * normalize(max(0, p − q)), left unnormalised for {@link TokenSampler#sample}. If rounding leaves it all zero
     * (p and q equal up to float error, so a rejection was all but impossible) p itself is the right distribution.
     */
    static float[] residual(float[] p, float[] q, int drafted) {
        float[] r = new float[p.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            float qi = q == null ? (i == drafted ? 1f : 0f) : (i < q.length ? q[i] : 0f);
            float v = p[i] - qi;
            if (v > 0) {
                r[i] = v;
                sum += v;
            }
        }
        return sum > 0 ? r : p;
    }
}
