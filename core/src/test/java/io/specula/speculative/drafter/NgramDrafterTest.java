package io.specula.speculative.drafter;

import io.specula.SpeculaException;
import io.specula.generate.LogitsProcessor;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NgramDrafterTest {

    static DraftSession session(NgramDrafter drafter, TokenSequence seq, int vocab) {
        return drafter.open(new DraftContext(seq, new LogitsProcessor(SamplingParams.GREEDY), new TokenCounts(vocab),
                new TokenSampler(1L), vocab, 1000));
    }

    @Test
    void proposesTheContinuationOfTheLongestMatch() {
        // Suffix [7, 8, 9]: length 3 matches at index 2 → continuation 10, 11, 12; the 1-gram [9] also matches at
        // index 9 (→ 5) but longer matches win.
        TokenSequence seq = new TokenSequence(new int[] {1, 2, 7, 8, 9, 10, 11, 12, 3, 9, 5, 6, 7, 8, 9});
        Draft d = session(new NgramDrafter(1, 3), seq, 100).propose(3, DraftGate.ALWAYS);
        assertThat(d.tokens()).containsExactly(10, 11, 12);
        assertThat(d.q()).isNull();
    }

    @Test
    void prefersTheMostRecentOccurrence() {
        TokenSequence seq = new TokenSequence(new int[] {4, 5, 1, 4, 5, 2, 4, 5});
        assertThat(new NgramDrafter(2, 2).lookup(seq, 4, 100)).containsExactly(2, 4, 5);
    }

    @Test
    void continuationIsCappedByMaxTokensAndTheSequenceEnd() {
        TokenSequence seq = new TokenSequence(new int[] {1, 2, 3, 1, 2});
        assertThat(new NgramDrafter().lookup(seq, 2, 100)).containsExactly(3, 1);
        // The continuation may run into the suffix itself (repetition).
        TokenSequence rep = new TokenSequence(new int[] {5, 5, 5});
        assertThat(new NgramDrafter(1, 2).lookup(rep, 4, 100)).containsExactly(5);
    }

    @Test
    void noMatchProposesNothing() {
        TokenSequence seq = new TokenSequence(new int[] {1, 2, 3, 4});
        assertThat(session(new NgramDrafter(), seq, 100).propose(4, DraftGate.ALWAYS).isEmpty()).isTrue();
        assertThat(new NgramDrafter(2, 3).lookup(new TokenSequence(new int[] {1, 2, 1}), 4, 100)).isEmpty();
    }

    @Test
    void followsTheGrowingSequenceAndStopsAtIdsTheTargetCannotEmit() {
        TokenSequence seq = new TokenSequence(new int[] {1, 2, 50, 3, 1});
        DraftSession s = session(new NgramDrafter(1, 2), seq, 10);
        assertThat(s.propose(3, DraftGate.ALWAYS).tokens()).containsExactly(2);
        seq.append(2);
        assertThat(s.propose(3, DraftGate.ALWAYS).tokens()).isEmpty();
    }

    @Test
    void gateCapsTheDraft() {
        TokenSequence seq = new TokenSequence(new int[] {1, 2, 3, 4, 1});
        Draft d = session(new NgramDrafter(), seq, 100).propose(4, (pos, p) -> pos < 2);
        assertThat(d.tokens()).containsExactly(2, 3);
    }

    @Test
    void rejectsBadBounds() {
        assertThatThrownBy(() -> new NgramDrafter(0, 3)).isInstanceOf(SpeculaException.class);
        assertThatThrownBy(() -> new NgramDrafter(3, 2)).isInstanceOf(SpeculaException.class);
    }
}
