package io.specula.adaptive;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The buffer, the windows cut from a request, the top-k copy and the acceptance comparison. */
class AdaptivePartsTest {

    @Test
    void topKKeepsTheLargestLogitsWithTheirFullSoftmaxProbabilities() {
        float[] logits = {0f, 3f, 1f, 3f, -1f, 2f};
        int[] ids = new int[3];
        float[] probs = new float[3];
        RequestRecorder.topOf(logits, ids, probs);
        assertThat(ids).containsExactly(1, 3, 5); // ties keep the lower id first, as argmax does
        double z = 0;
        for (float v : logits) {
            z += Math.exp(v);
        }
        assertThat((double) probs[0]).isCloseTo(Math.exp(3) / z, within(1e-6));
        assertThat((double) probs[2]).isCloseTo(Math.exp(2) / z, within(1e-6));
    }

    @Test
    void aRequestBecomesWindowsWhoseLabelsAreTheOutputTokens() {
        int[] prompt = {1, 10, 11};
        RequestRecorder r = new RequestRecorder(0, prompt, 2, 8, 100, 1000, 1);
        for (int i = 0; i < 9; i++) {
            float[] row = new float[50];
            row[20 + i] = 5f;
            r.token(row, 20 + i);
        }
        List<Example> windows = r.examples();
        // inputs: prompt + 8 outputs (the last output is never an input) = 11 positions, labels from position 2
        int labels = 0;
        for (Example e : windows) {
            assertThat(e.inputs().length).isLessThanOrEqualTo(8);
            for (int j = 0; j < e.labels(); j++) {
                int position = e.labelStart() + j;
                // The label at a position is the next token of the sequence.
                if (position + 1 < e.inputs().length) {
                    assertThat(e.verified()[j]).isEqualTo(e.inputs()[position + 1]);
                }
                assertThat(e.topIds()[j][0]).isEqualTo(e.verified()[j]);
            }
            labels += e.labels();
        }
        assertThat(labels).isEqualTo(9);
        assertThat(windows.get(0).inputs()).startsWith(1, 10, 11, 20);
        assertThat(windows.get(windows.size() - 1).verified()).endsWith(28);
    }

    @Test
    void aRequestWithIdsTheDrafterCannotReadIsNotKept() {
        RequestRecorder r = new RequestRecorder(0, new int[] {1, 700}, 2, 8, 100, 500, 1);
        r.token(new float[800], 3);
        r.token(new float[800], 4);
        assertThat(r.examples()).isEmpty();
    }

    @Test
    void theBufferHoldsOutAFractionOfRequestsAndDropsTheOldest() {
        ExampleBuffer b = new ExampleBuffer(10, 0.25);
        List<Boolean> held = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            Example e = new Example(i, new int[] {1, 2}, 1, new int[] {3}, new int[][] {{3}}, new float[][] {{1f}});
            held.add(b.add(List.of(e)));
        }
        assertThat(held.stream().filter(h -> h).count()).isEqualTo(10);
        assertThat(b.trainingSize()).isEqualTo(10);
        assertThat(b.collected()).isEqualTo(40);
        // Training and held-out never share a request; the newest requests are kept.
        List<Long> trainRequests = b.training().stream().map(Example::request).toList();
        assertThat(b.heldOut()).allSatisfy(e -> assertThat(trainRequests).doesNotContain(e.request()));
        assertThat(trainRequests).contains(38L).doesNotContain(0L); // request 39 is held out (every fourth)
        assertThat(b.sample(5, new SplittableRandom(1))).hasSize(5);
    }

    @Test
    void aCandidateServesOnlyWhenItIsBetterByTheMarginOnTheSamePositions() {
        // 100 held-out positions; the serving version matches the first 60.
        AcceptanceEvaluator.Score serving = score(100, 0, 60);
        double z = AcceptanceEvaluator.MARGIN_Z;
        // A tie (the same positions, or as many others) is not better: "no lower" used to let it in.
        assertThat(score(100, 0, 60).beats(serving, z)).isFalse();
        assertThat(score(100, 10, 70).beats(serving, z)).isFalse();   // 10 won, 10 lost
        // Two more of 100 with nothing lost: 2 >= max(1, 1.645 * sqrt(2)) = 2.33 fails; chance explains it.
        assertThat(score(100, 0, 62).beats(serving, z)).isFalse();
        // Three more with nothing lost: 3 >= 1.645 * sqrt(3) = 2.85.
        assertThat(score(100, 0, 63).beats(serving, z)).isTrue();
        // The same overall lead of 3 made of 20 won and 17 lost: 3 < 1.645 * sqrt(37) = 10.0.
        assertThat(score(100, 17, 80).beats(serving, z)).isFalse();
        // A stale drafter after a target update loses many positions at once: 30 won, 5 lost.
        assertThat(score(100, 5, 90).beats(serving, z)).isTrue();
        assertThat(score(100, 5, 90).worseThan(serving)).isFalse();
        assertThat(score(100, 1, 60).worseThan(serving)).isTrue();
        assertThatThrownBy(() -> score(50, 0, 30).beats(serving, z))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("different examples");
    }

    /** A drafter that matched positions [from, to) of {@code positions}. */
    private static AcceptanceEvaluator.Score score(int positions, int from, int to) {
        java.util.BitSet hits = new java.util.BitSet();
        hits.set(from, to);
        return new AcceptanceEvaluator.Score(positions, to - from, 0, hits);
    }
}
