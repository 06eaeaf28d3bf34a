package io.specula.autoconfigure;

import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.specula.engine.EngineInfo;
import io.specula.engine.ServingStatus;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer meters of the engine's load, read from its {@link ServingStatus}: requests running and waiting, KV cache
 * reserved and budgeted, the heartbeat (the longest time a request in flight has gone without a step), and refusals
 * by reason (three values). Tagged {@code target} and {@code drafter}. See {@code docs/metrics.md}.
 */
public class SpeculaServingMetrics implements SpeculaTargetMeters.Retaggable {

    public static final String REQUESTS_RUNNING = "specula.requests.running";

    public static final String REQUESTS_WAITING = "specula.requests.waiting";

    public static final String REQUESTS_REJECTED = "specula.requests.rejected";

    public static final String KV_CACHE_RESERVED = "specula.kv.cache.reserved";

    public static final String KV_CACHE_BUDGET = "specula.kv.cache.budget";

    public static final String ENGINE_STALL = "specula.engine.stall";

    private final Supplier<@Nullable ServingStatus> serving;

    private volatile Tags tags;

    /** @param serving the engine's load ({@code engine::servingStatus}) */
    public SpeculaServingMetrics(Supplier<@Nullable ServingStatus> serving, EngineInfo info) {
        this.serving = serving;
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void retag(EngineInfo info) {
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Supplier<@Nullable ServingStatus> serving = this.serving;
        gauge(registry, serving, REQUESTS_RUNNING, "Requests decoding now", null, ServingStatus::inFlight);
        gauge(registry, serving, REQUESTS_WAITING, "Requests waiting in the admission queue for a slot", null,
                ServingStatus::queued);
        gauge(registry, serving, KV_CACHE_RESERVED, "KV cache memory reserved by the requests in flight", "bytes",
                ServingStatus::kvCacheBytesReserved);
        gauge(registry, serving, KV_CACHE_BUDGET, "Configured KV cache budget (0 = no bound)", "bytes",
                ServingStatus::kvCacheBudgetBytes);
        gauge(registry, serving, ENGINE_STALL,
                "Longest time a request in flight has gone without a decoding step (the engine's heartbeat)",
                "seconds", st -> st.longestStallNanos() / 1e9);
        rejected(registry, serving, "queue_full", ServingStatus::rejectedQueueFull);
        rejected(registry, serving, "queue_timeout", ServingStatus::rejectedQueueTimeout);
        rejected(registry, serving, "kv_cache_budget", ServingStatus::rejectedKvCacheBudget);
    }

    private void gauge(MeterRegistry registry, Supplier<@Nullable ServingStatus> serving, String name,
            String description, @Nullable String unit, ToDoubleFunction<ServingStatus> value) {
        Gauge.builder(name, serving, sup -> {
            ServingStatus st = sup.get();
            return st == null ? Double.NaN : value.applyAsDouble(st);
        }).description(description).baseUnit(unit).tags(this.tags).register(registry);
    }

    private void rejected(MeterRegistry registry, Supplier<@Nullable ServingStatus> serving, String reason,
            ToDoubleFunction<ServingStatus> value) {
        FunctionCounter.builder(REQUESTS_REJECTED, serving, sup -> {
            ServingStatus st = sup.get();
            return st == null ? 0 : value.applyAsDouble(st);
        })
            .description("Requests the engine refused: queue full, queue timeout, or a KV cache larger than the budget")
            .tags(this.tags.and("reason", reason))
            .register(registry);
    }
}
