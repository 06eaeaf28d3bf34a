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
 * @param maxWait             how long a pass waits, from the end of the previous one, for running requests that have
 *                            not yet asked for their next step (the pass starts at once when every running request
 *                            has); bounds what a slow consumer of one stream costs the others per step. Null: automatic,
 *                            a quarter of the last pass's time and at least 1 ms, so the share of each pass spent
 *                            waiting is the same whatever the model's size or the machine's load
 */
public record BatchingConfig(int maxPositionsPerPass, Duration maxWait) {

    /** Per-request passes: no scheduler. */
    public static final BatchingConfig OFF = new BatchingConfig(0, null);

    /** The default pass size: 64 positions (8 requests verifying γ = 7). */
    public static final int DEFAULT_MAX_POSITIONS_PER_PASS = 64;
    /** Automatic gathering wait (see {@code maxWait}). */
    public static final Duration DEFAULT_MAX_WAIT = null;

    /**
     * The Spring starter's default: on, since a server's concurrent requests should share what bounds a CPU's decoding
     * (reading the weights), and a request alone runs its own passes on its own thread exactly as with batching off.
     * The engine's own {@code load} without a batching argument keeps {@link #OFF}.
     */
    public static final BatchingConfig DEFAULT = new BatchingConfig(DEFAULT_MAX_POSITIONS_PER_PASS, DEFAULT_MAX_WAIT);

    public BatchingConfig {
        FieldErrors errors = new FieldErrors();
        errors.check("maxPositionsPerPass", maxPositionsPerPass, n -> n >= 0 && n <= 4096,
                "expected 0 or 1 (batching off) or an integer in 2..4096");
        if (maxWait != null && (maxWait.isNegative() || maxWait.compareTo(Duration.ofSeconds(1)) > 0)) {
            errors.add("maxWait", "expected a duration in 0..1s, e.g. 2ms, or none (automatic), got " + maxWait);
        }
        errors.throwIfAny();
    }

    /** Batching on with the given pass size and the automatic wait. */
    public static BatchingConfig of(int maxPositionsPerPass) {
        return new BatchingConfig(maxPositionsPerPass, DEFAULT_MAX_WAIT);
    }

    public boolean enabled() {
        return maxPositionsPerPass > 1;
    }
}
