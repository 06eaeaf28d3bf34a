package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GreedyAcceptanceTest {

    static final LogitsProcessor GREEDY = new LogitsProcessor(SamplingParams.GREEDY);

    /** Logit rows whose argmaxes are the given ids (vocabulary of 6). */
    static float[][] rowsWithArgmax(int... ids) {
        float[][] rows = new float[ids.length][6];
        for (int i = 0; i < ids.length; i++) {
            rows[i][ids[i]] = 5f;
            rows[i][(ids[i] + 1) % 6] = 4f;
        }
        return rows;
    }

    static Verdict judge(float[][] logits, LogitsProcessor processor, TokenCounts history, int... draft) {
        return GreedyAcceptance.INSTANCE.judge(logits, new Draft(draft, null, 1), 0, processor, history,
                new TokenSampler(1L));
    }

    @Test
    void allAcceptedGivesTheBonusToken() {
        Verdict v = judge(rowsWithArgmax(3, 1, 4, 2), GREEDY, new TokenCounts(6), 3, 1, 4);
        assertThat(v).isEqualTo(new Verdict(3, 2));
    }

    @Test
    void firstMismatchEndsWithTheTargetsToken() {
        assertThat(judge(rowsWithArgmax(3, 1, 4, 2), GREEDY, new TokenCounts(6), 0, 1, 4))
                .isEqualTo(new Verdict(0, 3));
        assertThat(judge(rowsWithArgmax(3, 1, 4, 2), GREEDY, new TokenCounts(6), 3, 1, 5))
                .isEqualTo(new Verdict(2, 4));
    }

    @Test
    void emptyDraftIsAPlainStep() {
        assertThat(judge(rowsWithArgmax(5), GREEDY, new TokenCounts(6))).isEqualTo(new Verdict(0, 5));
    }

    @Test
    void tiesGoToTheLowestIdLikeTorchArgmax() {
        float[][] rows = {{1f, 2f, 2f, 0f}, {0f, 0f, 0f, 0f}};
        assertThat(judge(rows, GREEDY, new TokenCounts(4), 2)).isEqualTo(new Verdict(0, 1));
        assertThat(judge(rows, GREEDY, new TokenCounts(4), 1)).isEqualTo(new Verdict(1, 0));
    }

    @Test
    void penaltiesSeeEarlierDraftsOfTheSameStepAndHistoryIsRestored() {
        // Token 2 leads by 1.0 at both positions; a frequency penalty of 1.5 drops it once it occurred.
        LogitsProcessor penalised = new LogitsProcessor(new SamplingParams(0, 0, 1, null, 1.5, 0));
        float[][] rows = {{0f, 0f, 3f, 2f}, {0f, 0f, 3f, 2f}};
        TokenCounts history = new TokenCounts(4);
        Verdict v = judge(rows, penalised, history, 2, 2);
        // Position 0: argmax 2 (accepted). Position 1: history has 2 once → 3 − 1.5 < 2 → argmax 3, draft rejected.
        assertThat(v).isEqualTo(new Verdict(1, 3));
        assertThat(history.count(2)).isZero();
    }
}
