package io.specula.adaptive;

import io.specula.model.CausalLm;
import io.specula.model.KvCache;

import java.util.List;

/**
 * Scores a drafter on held-out examples, offline, teacher-forced on the target's own tokens: at each labelled
 * position, whether the drafter's argmax is the token the target emitted (what greedy verification accepts, given
 * that the earlier drafts were accepted), and the expected acceptance of a sampled draft, the sum over tokens of
 * min(p, q) (counted over the target's kept top-k, so a slight underestimate). Runs the drafter through its serving
 * {@link CausalLm}, so the score is that of the model that would serve.
 */
final class AcceptanceEvaluator {

    /** What a drafter scored. */
    record Score(long positions, long matches, double expectedAccepted) {

        static final Score NONE = new Score(0, 0, 0);

        /** The fraction of positions where the drafter's argmax is the target's token. */
        double matchRate() {
            return positions == 0 ? Double.NaN : (double) matches / positions;
        }

        /** Mean of sum_x min(p(x), q(x)): acceptance of a draft sampled from q, at temperature 1. */
        double expectedAcceptance() {
            return positions == 0 ? Double.NaN : expectedAccepted / positions;
        }

        /** Not lower than {@code other}: a higher match rate, or the same one and expected acceptance not lower. */
        boolean atLeast(Score other) {
            if (matches * other.positions != other.matches * positions) {
                return matches * other.positions > other.matches * positions;
            }
            return expectedAcceptance() >= other.expectedAcceptance() - 1e-9;
        }
    }

    private AcceptanceEvaluator() {
    }

    /**
     * @param targetVocab the ids the target can emit (a draft never holds others)
     * @param throttle    paces the work (called after each example with the time it took)
     */
    static Score evaluate(CausalLm model, List<Example> examples, int targetVocab, Throttle throttle)
            throws InterruptedException {
        long positions = 0;
        long matches = 0;
        double expected = 0;
        for (Example e : examples) {
            long t0 = System.nanoTime();
            int n = e.inputs().length;
            if (n > model.config().maxPositionEmbeddings()) {
                continue;
            }
            float[][] rows;
            try (KvCache cache = model.newCache(n)) {
                rows = model.forward(e.inputs(), cache, n - e.labelStart());
            }
            for (int j = 0; j < e.labels(); j++) {
                float[] row = rows[j];
                int v = Math.min(row.length, targetVocab);
                int arg = 0;
                float max = Float.NEGATIVE_INFINITY;
                for (int i = 0; i < v; i++) {
                    if (row[i] > max) {
                        max = row[i];
                        arg = i;
                    }
                }
                double sum = 0;
                for (int i = 0; i < v; i++) {
                    sum += Math.exp(row[i] - max);
                }
                positions++;
                if (arg == e.verified()[j]) {
                    matches++;
                }
                int[] ids = e.topIds()[j];
                float[] p = e.topProbs()[j];
                for (int i = 0; i < ids.length; i++) {
                    if (ids[i] < v) {
                        expected += Math.min(p[i], Math.exp(row[ids[i]] - max) / sum);
                    }
                }
            }
            if (throttle != null) {
                throttle.worked(System.nanoTime() - t0);
            }
        }
        return new Score(positions, matches, expected);
    }
}
