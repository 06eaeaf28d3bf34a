package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;

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
        int[] tokens = draft.tokens();
        int accepted = 0;
        try {
            while (true) {
                int choice = processor.argmax(targetLogits[accepted], history);
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
