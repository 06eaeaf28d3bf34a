package io.specula.autoconfigure;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.specula.chat.SpeculaChatModel;
import io.specula.engine.EngineInfo;
import io.specula.generate.DecodingListener;
import io.specula.generate.RequestLatency;

/**
 * The latency a caller sees, measured by the engine for every request it admitted: time to first token, named and
 * bucketed as OpenTelemetry's GenAI semantic conventions name the server-side metric
 * ({@code gen_ai.server.time_to_first_token}, seconds, tagged {@code gen_ai.operation.name}, {@code gen_ai.system}
 * and {@code gen_ai.response.model}); and the queue time, which the conventions do not name
 * ({@code specula.request.queue.time}, vLLM's {@code request_queue_time_seconds}; tagged {@code target} and
 * {@code drafter} as Specula's other meters). Spring AI's own
 * {@code gen_ai.client.operation} observation times whole requests; it has no time to first token. The same figures
 * are in each response's metadata ({@code SpeculaChatMetadata.TIME_TO_FIRST_TOKEN}, {@code QUEUE_TIME}).
 */
public class SpeculaLatencyMetrics implements SpeculaTargetMeters.Retaggable, DecodingListener {

    public static final String TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token";

    public static final String QUEUE_TIME = "specula.request.queue.time";

    /** The bucket boundaries the GenAI semantic conventions advise for time to first token, in seconds. */
    static final double[] TIME_TO_FIRST_TOKEN_BUCKETS = { 0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
            0.75, 1.0, 2.5, 5.0, 7.5, 10.0 };

    private volatile Tags tags;

    private volatile Tags speculaTags;

    /** Per registry, the meters recorded as steps happen (replaced when a target update binds them again). */
    private final Map<MeterRegistry, Bound> bound = new ConcurrentHashMap<>();

    public SpeculaLatencyMetrics(EngineInfo info) {
        retag(info);
    }

    @Override
    public void retag(EngineInfo info) {
        this.tags = Tags.of("gen_ai.operation.name", "chat", "gen_ai.system", SpeculaChatModel.PROVIDER_NAME,
                "gen_ai.response.model", info.targetName());
        this.speculaTags = SpeculaMetrics.tags(info);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Timer ttft = Timer.builder(TIME_TO_FIRST_TOKEN)
            .description("Time from a request reaching the engine to its first output token")
            .tags(this.tags)
            .serviceLevelObjectives(Arrays.stream(TIME_TO_FIRST_TOKEN_BUCKETS)
                .mapToObj(seconds -> Duration.ofNanos((long) (seconds * 1e9)))
                .toArray(Duration[]::new))
            .register(registry);
        Timer queue = Timer.builder(QUEUE_TIME)
            .description("Time from a request reaching the engine to its decoding slot (admission queue)")
            .tags(this.speculaTags)
            .register(registry);
        this.bound.put(registry, new Bound(ttft, queue));
    }

    @Override
    public void onRequestLatency(RequestLatency latency) {
        for (Bound meters : this.bound.values()) {
            if (latency.hasFirstToken()) {
                meters.timeToFirstToken().record(latency.timeToFirstTokenNanos(), TimeUnit.NANOSECONDS);
            }
            if (latency.hasQueueTime()) {
                meters.queueTime().record(latency.queueNanos(), TimeUnit.NANOSECONDS);
            }
        }
    }

    private record Bound(Timer timeToFirstToken, Timer queueTime) {
    }
}
