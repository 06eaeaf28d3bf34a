package io.specula.engine;

/**
 * Continuous batching since start-up, for the meters and the Actuator endpoint. Mean batch size is
 * {@code sequences / passes}, mean positions per pass {@code positions / passes}.
 *
 * @param enabled             whether requests share passes ({@link BatchingConfig}; false when off or when the models
 *                            have no batched pass, e.g. on DJL)
 * @param maxPositionsPerPass the configured pass size
 * @param running             requests decoding in shared passes now
 * @param passes              shared passes run (target and drafter)
 * @param sequences           sequence steps they held, summed over passes (a pass of 3 requests counts 3)
 * @param positions           positions they computed, summed over passes
 * @param passNanos           time spent in passes
 * @param largestPass         the most sequences one pass has held
 * @param targetPasses        of the passes, those of the target (the rest are the drafter's, a fraction of the cost)
 * @param targetSequences     sequence steps the target's passes held: {@code targetSequences / targetPasses} is the
 *                            batch size that decides the throughput
 */
public record BatchingStatus(boolean enabled, int maxPositionsPerPass, int running, long passes, long sequences,
                             long positions, long passNanos, int largestPass, long targetPasses, long targetSequences) {

    public static final BatchingStatus OFF = new BatchingStatus(false, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
