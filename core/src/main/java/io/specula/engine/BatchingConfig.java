package io.specula.engine;

import io.specula.FieldErrors;

import java.time.Duration;

/**
 * Continuous batching: the forward passes of concurrent requests shared ({@link BatchScheduler}). Each pass gathers
 * the positions the running requests need next (1 for a plain step, γ+1 for a verification, a chunk of a prompt) up
 * to {@code maxPositionsPerPass}; each request's output stays exactly what it would be alone.
 *
 * <p>Only the Java-kernel models batch ({@link io.specula.model.BatchedCausalLm}); a target or drafter on DJL keeps the
 * per-request passes whatever this says.
 *
 * @param maxPositionsPerPass the most positions one shared pass computes: 0 or 1 turns batching off (every request
 *                            runs its own passes, as before); a prompt longer than what is left of a pass is prefilled
 *                            in chunks that share passes with the others' steps
 * @param maxWait             how long a pass waits for running requests that have not yet asked for their next step
 *                            (the pass starts at once when every running request has); bounds what a slow consumer
 *                            of one stream costs the others per step
 */
public record BatchingConfig(int maxPositionsPerPass, Duration maxWait) {

    /** Per-request passes: no scheduler. */
    public static final BatchingConfig OFF = new BatchingConfig(0, Duration.ofMillis(2));

    /** The documented default when batching is on: 64 positions (8 requests verifying γ = 7), waiting ≤ 2 ms. */
    public static final int DEFAULT_MAX_POSITIONS_PER_PASS = 64;
    public static final Duration DEFAULT_MAX_WAIT = Duration.ofMillis(2);

    public BatchingConfig {
        FieldErrors errors = new FieldErrors();
        errors.check("maxPositionsPerPass", maxPositionsPerPass, n -> n >= 0 && n <= 4096,
                "expected 0 or 1 (batching off) or an integer in 2..4096");
        if (maxWait == null || maxWait.isNegative() || maxWait.compareTo(Duration.ofSeconds(1)) > 0) {
            errors.add("maxWait", "expected a duration in 0..1s, e.g. 2ms, got " + maxWait);
        }
        errors.throwIfAny();
    }

    /** Batching on with the given pass size and the default wait. */
    public static BatchingConfig of(int maxPositionsPerPass) {
        return new BatchingConfig(maxPositionsPerPass, DEFAULT_MAX_WAIT);
    }

    public boolean enabled() {
        return maxPositionsPerPass > 1;
    }
}
