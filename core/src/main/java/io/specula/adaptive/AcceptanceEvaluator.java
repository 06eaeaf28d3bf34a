package io.specula.adaptive;

import io.specula.model.CausalLm;
import io.specula.model.KvCache;

import java.util.BitSet;
import java.util.List;

/**
 * Scores a drafter on held-out examples, offline, teacher-forced on the target's own tokens: at each labelled
 * position, whether the drafter's argmax is the token the target emitted (what greedy verification accepts, given
 * that the earlier drafts were accepted), and the expected acceptance of a sampled draft, the sum over tokens of
 * min(p, q) (counted over the target's kept top-k, so a slight underestimate). Runs the drafter through its serving
 * {@link CausalLm}, so the score is that of the model that would serve.
 */
final class AcceptanceEvaluator {

    /**
     * How much better a candidate must be than the serving version, in standard deviations of the paired difference
     * (one-sided 95%). Why a margin and not "no lower": a held-out slice of a few hundred positions scores two close
     * versions in either order by chance, and each swap of an equal or worse version costs live acceptance (measured:
     * a version judged equal on 48 positions drafted 0.49 live against its predecessor's 0.57; one judged better by 2
     * positions of 48 drafted 0.56 against 0.66).
     */
    static final double MARGIN_Z = 1.645;

    /**
     * What a drafter scored.
     *
     * @param hits the positions (in evaluation order) where its argmax was the target's token, for the paired
     *             comparison of two drafters on the same examples
     */
    record Score(long positions, long matches, double expectedAccepted, BitSet hits) {

        static final Score NONE = new Score(0, 0, 0, new BitSet());

        /** The fraction of positions where the drafter's argmax is the target's token. */
        double matchRate() {
            return positions == 0 ? Double.NaN : (double) matches / positions;
        }

        /** Mean of sum_x min(p(x), q(x)): acceptance of a draft sampled from q, at temperature 1. */
        double expectedAcceptance() {
            return positions == 0 ? Double.NaN : expectedAccepted / positions;
        }

        /** Positions this drafter matched and {@code other} (scored on the same examples) missed. */
        long wonAgainst(Score other) {
            BitSet b = (BitSet) hits.clone();
            b.andNot(other.hits);
            return b.cardinality();
        }

        /**
         * Better than {@code other} (scored on the same examples) by the margin: a paired sign test on the positions
         * where exactly one of the two matched the target's token. With w positions won and l lost, better means
         * w - l >= max(1, z * sqrt(w + l)): a tie, or a lead that chance explains, is not better. Greedy matches only:
         * they are what greedy verification accepts, and the expected acceptance under sampling moves with them.
         */
        boolean beats(Score other, double z) {
            if (positions != other.positions) {
                throw new IllegalArgumentException("scores of different examples: " + positions + " and "
                        + other.positions + " positions");
            }
            long won = wonAgainst(other);
            long lost = other.wonAgainst(this);
            return won - lost >= Math.max(1.0, z * Math.sqrt(won + lost));
        }

        /** Lower than {@code other}: fewer matches on the same examples. */
        boolean worseThan(Score other) {
            return matches < other.matches;
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
        BitSet hits = new BitSet();
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
                if (arg == e.verified()[j]) {
                    matches++;
                    hits.set((int) positions);
                }
                positions++;
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
        return new Score(positions, matches, expected, hits);
    }
}
