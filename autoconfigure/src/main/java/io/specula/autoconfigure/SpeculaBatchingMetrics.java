package io.specula.autoconfigure;

import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.specula.engine.BatchingStatus;
import io.specula.engine.EngineInfo;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer meters of continuous batching, read from the engine's {@link BatchingStatus}: shared passes, the
 * sequence steps and positions they held (their ratios to the passes are the mean batch size and positions per pass),
 * the time in passes, and the requests running in shared passes now. Zero while batching is off. Tagged
 * {@code target} and {@code drafter}. See {@code docs/metrics.md}.
 */
public class SpeculaBatchingMetrics implements SpeculaTargetMeters.Retaggable {

    public static final String PASSES = "specula.batch.passes";

    public static final String SEQUENCES = "specula.batch.sequences";

    public static final String POSITIONS = "specula.batch.positions";

    public static final String PASS_TIME = "specula.batch.pass.time";

    public static final String RUNNING = "specula.batch.running";

    public static final String TARGET_PASSES = "specula.batch.target.passes";

    public static final String TARGET_SEQUENCES = "specula.batch.target.sequences";

    private final Supplier<@Nullable BatchingStatus> batching;

    private volatile Tags tags;

    /** @param batching the engine's batching figures ({@code engine::batchingStatus}) */
    public SpeculaBatchingMetrics(Supplier<@Nullable BatchingStatus> batching, EngineInfo info) {
        this.batching = batching;
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void retag(EngineInfo info) {
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        counter(registry, PASSES, "Shared forward passes run (target and drafter)", null, BatchingStatus::passes);
        counter(registry, SEQUENCES, "Sequence steps computed in shared passes (a pass of 3 requests counts 3)", null,
                BatchingStatus::sequences);
        counter(registry, POSITIONS, "Positions computed in shared passes", null, BatchingStatus::positions);
        counter(registry, PASS_TIME, "Time spent in shared passes", "seconds", s -> s.passNanos() / 1e9);
        counter(registry, TARGET_PASSES, "Shared passes of the target (the rest are the drafter's)", null,
                BatchingStatus::targetPasses);
        counter(registry, TARGET_SEQUENCES, "Sequence steps computed in the target's shared passes", null,
                BatchingStatus::targetSequences);
        Gauge.builder(RUNNING, this.batching, sup -> status(sup).running())
            .description("Requests decoding in shared passes now")
            .tags(this.tags)
            .register(registry);
    }

    private static BatchingStatus status(Supplier<@Nullable BatchingStatus> batching) {
        BatchingStatus status = batching.get();
        return status == null ? BatchingStatus.OFF : status;
    }

    private void counter(MeterRegistry registry, String name, String description, @Nullable String unit,
            ToDoubleFunction<BatchingStatus> value) {
        FunctionCounter.builder(name, this.batching, sup -> value.applyAsDouble(status(sup)))
            .description(description)
            .baseUnit(unit)
            .tags(this.tags)
            .register(registry);
    }
}
