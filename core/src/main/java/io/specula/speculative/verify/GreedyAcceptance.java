package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;

import java.util.function.IntUnaryOperator;

/**
 * Greedy verification: accept drafts while each equals the target's argmax (after penalties) at its position; the
 * target's argmax at the first mismatch is the correction, or, when everything matched, the argmax after the last
 * draft is a free bonus token. Exactly the tokens greedy target-only decoding produces.
 */
public final class GreedyAcceptance implements AcceptanceRule {

    public static final GreedyAcceptance INSTANCE = new GreedyAcceptance();

    private GreedyAcceptance() {
    }

    @Override
    public Verdict judge(float[][] targetLogits, Draft draft, int position, LogitsProcessor processor,
                         TokenCounts history, TokenSampler sampler) {
        return acceptWhileEqual(draft, history, i -> processor.argmax(targetLogits[i], history));
    }

    /**
     * The exact-match rule of greedy and of seeded ({@link CoupledAcceptance}) verification: drafts are accepted while
     * each equals the target's own choice at its position, {@code targetChoice.applyAsInt(i)} for row i (made with
     * the accepted drafts before it in {@code history}); the choice at the first mismatch, or after the last draft, is
     * the target's token. {@code history} is restored before returning.
     */
    static Verdict acceptWhileEqual(Draft draft, TokenCounts history, IntUnaryOperator targetChoice) {
        int[] tokens = draft.tokens();
        int accepted = 0;
        try {
            while (true) {
                int choice = targetChoice.applyAsInt(accepted);
                if (accepted == tokens.length || tokens[accepted] != choice) {
                    return new Verdict(accepted, choice);
                }
                history.add(choice);
                accepted++;
            }
        } finally {
            for (int i = 0; i < accepted; i++) {
                history.remove(tokens[i]);
            }
        }
    }
}
