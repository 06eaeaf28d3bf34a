package io.specula.engine;

import io.specula.model.BatchedCausalLm;

import java.util.Arrays;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The count of shared passes ({@link BatchScheduler}), for the meters and the draft policy: passes, the sequences and
 * positions they held, their time, and each model's measured pass cost by width (positions in the pass), a moving
 * average that the batch-aware draft policy reads as the marginal cost of extra positions.
 */
public final class BatchStatistics {

    /** Weight of a new measurement in a width's moving average. */
    private static final double ALPHA = 0.1;

    private final int maxPositions;
    private long passes;
    private long sequences;
    private long positions;
    private long nanos;
    private int largestPass;
    private long targetPasses;
    private long targetSequences;
    // Weak keys (the models do not override equals, so identity): a target replaced by an update is not kept alive.
    private final Map<BatchedCausalLm, double[]> costByWidth = new WeakHashMap<>();

    BatchStatistics(int maxPositions) {
        this.maxPositions = maxPositions;
    }

    /**
     * @param nanos    the pass's own time
     * @param stepCost what the pass cost the batch, the round trip before it included: the cost by width
     * @param target   whether the pass was the (serving) target's
     */
    synchronized void record(int sequences, int positions, long nanos, long stepCost, BatchedCausalLm model,
                             boolean target) {
        if (target) {
            targetPasses++;
            targetSequences += sequences;
        }
        this.passes++;
        this.sequences += sequences;
        this.positions += positions;
        this.nanos += nanos;
        this.largestPass = Math.max(largestPass, sequences);
        double[] costs = costByWidth.computeIfAbsent(model, m -> {
            double[] c = new double[maxPositions];
            Arrays.fill(c, Double.NaN);
            return c;
        });
        int w = Math.min(positions, maxPositions) - 1;
        costs[w] = Double.isNaN(costs[w]) ? stepCost : costs[w] + ALPHA * (stepCost - costs[w]);
    }

    /** The model's measured pass cost by width (index w−1: w positions; the pass and the round trip before it), NaN where never measured. */
    public synchronized double[] costByWidth(BatchedCausalLm model) {
        double[] c = costByWidth.get(model);
        if (c == null) {
            c = new double[maxPositions];
            Arrays.fill(c, Double.NaN);
            return c;
        }
        return c.clone();
    }

    public synchronized BatchingStatus snapshot(int running) {
        return new BatchingStatus(true, maxPositions, running, passes, sequences, positions, nanos, largestPass,
                targetPasses, targetSequences);
    }
}
