package io.specula.autoconfigure;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.engine.EngineInfo;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer meters of the adaptive drafter's learning ({@code specula.adaptive.*}): the serving version, examples,
 * training steps and loss, updates accepted and rejected, failures. The two per-version gauges carry a
 * {@code drafter.version} tag with the serving version only (re-registered at each swap, so the tag stays bounded).
 * Binds nothing when the drafter does not adapt. See {@code docs/metrics.md}.
 */
public class SpeculaAdaptiveMetrics implements SpeculaTargetMeters.Retaggable {

    public static final String ADAPTIVE_VERSION = "specula.adaptive.drafter.version";

    public static final String ADAPTIVE_EXAMPLES = "specula.adaptive.examples";

    public static final String ADAPTIVE_BUFFER = "specula.adaptive.buffer.examples";

    public static final String ADAPTIVE_STEPS = "specula.adaptive.training.steps";

    public static final String ADAPTIVE_LOSS = "specula.adaptive.training.loss";

    public static final String ADAPTIVE_UPDATES = "specula.adaptive.updates";

    public static final String ADAPTIVE_FAILURES = "specula.adaptive.failures";

    public static final String ADAPTIVE_ACCEPTANCE = "specula.adaptive.acceptance.rate";

    public static final String ADAPTIVE_HELD_OUT_ACCEPTANCE = "specula.adaptive.heldout.acceptance.rate";

    private final @Nullable AdaptiveDrafter adaptive;

    private volatile Tags tags;

    /** Per registry, the gauges tagged with the serving drafter version (replaced at each swap). */
    private final Map<MeterRegistry, VersionGauges> versionGauges = new ConcurrentHashMap<>();

    /** @param adaptive the adaptive drafter, or {@code null} when the drafter does not adapt */
    public SpeculaAdaptiveMetrics(@Nullable AdaptiveDrafter adaptive, EngineInfo info) {
        this.adaptive = adaptive;
        this.tags = SpeculaMetrics.tags(info);
        if (adaptive != null) {
            adaptive.addVersionListener(this::rebindVersionGauges);
        }
    }

    @Override
    public void retag(EngineInfo info) {
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        if (this.adaptive != null) {
            bindAdaptive(registry, this.adaptive);
        }
    }

    private synchronized void bindAdaptive(MeterRegistry registry, AdaptiveDrafter a) {
        Gauge.builder(ADAPTIVE_VERSION, a, AdaptiveDrafter::version)
            .description("The serving drafter version (0 = the drafter as loaded)")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(ADAPTIVE_EXAMPLES, a, d -> d.buffer().collected())
            .description("Training windows collected from verification passes")
            .tags(this.tags)
            .register(registry);
        Gauge.builder(ADAPTIVE_BUFFER, a, d -> d.buffer().trainingSize() + d.buffer().heldOutSize())
            .description("Examples in the buffer now (training and held-out)")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(ADAPTIVE_STEPS, a, AdaptiveDrafter::trainingSteps)
            .description("Optimiser steps of the background trainer")
            .tags(this.tags)
            .register(registry);
        Gauge.builder(ADAPTIVE_LOSS, a, AdaptiveDrafter::lastLoss)
            .description("Loss of the last training step (KL or cross-entropy, per position)")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(ADAPTIVE_UPDATES, a, AdaptiveDrafter::updatesAccepted)
            .description("Updates judged on the held-out slice (accepted: swapped in; rejected: discarded)")
            .tags(this.tags.and("outcome", "accepted"))
            .register(registry);
        FunctionCounter.builder(ADAPTIVE_UPDATES, a, AdaptiveDrafter::updatesRejected)
            .description("Updates judged on the held-out slice (accepted: swapped in; rejected: discarded)")
            .tags(this.tags.and("outcome", "rejected"))
            .register(registry);
        FunctionCounter.builder(ADAPTIVE_FAILURES, a, AdaptiveDrafter::failures)
            .description("Updates or checkpoints that failed; serving went on with the last good drafter")
            .tags(this.tags)
            .register(registry);
        VersionGauges gauges = new VersionGauges(registry, new CopyOnWriteArrayList<>());
        VersionGauges before = this.versionGauges.put(registry, gauges);
        if (before != null) {
            // Bound again after a target update: the old tags' gauges go.
            before.meters().forEach(registry::remove);
        }
        registerVersionGauges(gauges, a, a.version());
    }

    private synchronized void registerVersionGauges(VersionGauges gauges, AdaptiveDrafter a, int version) {
        gauges.meters().forEach(gauges.registry()::remove);
        gauges.meters().clear();
        Tags versionTags = this.tags.and("drafter.version", Integer.toString(version));
        gauges.meters()
            .add(Gauge.builder(ADAPTIVE_ACCEPTANCE, a, AdaptiveDrafter::currentAcceptanceRate)
                .description("Accepted / drafted tokens of the serving drafter version in live traffic")
                .tags(versionTags)
                .register(gauges.registry()));
        gauges.meters()
            .add(Gauge.builder(ADAPTIVE_HELD_OUT_ACCEPTANCE, a, d -> heldOutRate(d, version))
                .description("Greedy acceptance of the serving drafter version on the held-out slice when judged")
                .tags(versionTags)
                .register(gauges.registry()));
    }

    private static double heldOutRate(AdaptiveDrafter a, int version) {
        return a.status()
            .versions()
            .stream()
            .filter(v -> v.version() == version)
            .mapToDouble(v -> v.heldOutMatchRate())
            .findFirst()
            .orElse(Double.NaN);
    }

    private void rebindVersionGauges(int version) {
        AdaptiveDrafter a = this.adaptive;
        if (a != null) {
            for (VersionGauges gauges : this.versionGauges.values()) {
                registerVersionGauges(gauges, a, version);
            }
        }
    }

    private record VersionGauges(MeterRegistry registry, List<Meter> meters) {
    }
}
