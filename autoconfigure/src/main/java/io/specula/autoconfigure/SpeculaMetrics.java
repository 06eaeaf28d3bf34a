package io.specula.autoconfigure;

import java.util.List;
import io.specula.speculative.policy.DraftPolicy;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.engine.EngineInfo;
import io.specula.engine.ServingStatus;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.DecodingListener;
import io.specula.generate.FinishReason;
import org.jspecify.annotations.Nullable;

/**
 * Micrometer meters of speculative decoding, modelled on vLLM's {@code spec_decode} metrics. Counters read the
 * engine's {@link SpeculaStatistics}; the timers and the acceptance-length summary are recorded per decoding step
 * (this binder is also a {@link DecodingListener} registered with the engine).
 *
 * <p>
 * Every meter is tagged {@code target} and {@code drafter} (the model names); per-position counters add
 * {@code position} (0 .. 15, bounded by the largest draft length), the request counter {@code finish.reason}, the
 * verify timer {@code speculative}, the refusal counter {@code reason} (three values). No tag carries request data.
 * Given the engine's {@link ServingStatus}, gauges report the load: requests running and waiting, KV cache reserved,
 * and the heartbeat (the longest time a request in flight has gone without a step). See {@code docs/metrics.md}.
 *
 * <p>
 * With an adaptive drafter, {@code specula.adaptive.*} meters follow its learning; the two per-version gauges carry a
 * {@code drafter.version} tag with the serving version only (re-registered at each swap, so the tag stays bounded).
 */
public class SpeculaMetrics implements MeterBinder, DecodingListener {

    public static final String DRAFTS = "specula.speculative.drafts";

    public static final String DRAFT_TOKENS = "specula.speculative.draft.tokens";

    public static final String ACCEPTED_TOKENS = "specula.speculative.accepted.tokens";

    public static final String DRAFT_TOKENS_PER_POSITION = "specula.speculative.draft.tokens.per.position";

    public static final String ACCEPTED_TOKENS_PER_POSITION = "specula.speculative.accepted.tokens.per.position";

    public static final String ACCEPTANCE_RATE = "specula.speculative.acceptance.rate";

    public static final String ACCEPTANCE_LENGTH = "specula.speculative.acceptance.length";

    public static final String DRAFT = "specula.draft";

    public static final String VERIFY = "specula.verify";

    public static final String GENERATED_TOKENS = "specula.generated.tokens";

    public static final String REQUESTS = "specula.requests";

    public static final String ADAPTIVE_VERSION = "specula.adaptive.drafter.version";

    public static final String ADAPTIVE_EXAMPLES = "specula.adaptive.examples";

    public static final String ADAPTIVE_BUFFER = "specula.adaptive.buffer.examples";

    public static final String ADAPTIVE_STEPS = "specula.adaptive.training.steps";

    public static final String ADAPTIVE_LOSS = "specula.adaptive.training.loss";

    public static final String ADAPTIVE_UPDATES = "specula.adaptive.updates";

    public static final String ADAPTIVE_FAILURES = "specula.adaptive.failures";

    public static final String ADAPTIVE_ACCEPTANCE = "specula.adaptive.acceptance.rate";

    public static final String ADAPTIVE_HELD_OUT_ACCEPTANCE = "specula.adaptive.heldout.acceptance.rate";

    public static final String REQUESTS_RUNNING = "specula.requests.running";

    public static final String REQUESTS_WAITING = "specula.requests.waiting";

    public static final String REQUESTS_REJECTED = "specula.requests.rejected";

    public static final String KV_CACHE_RESERVED = "specula.kv.cache.reserved";

    public static final String KV_CACHE_BUDGET = "specula.kv.cache.budget";

    public static final String ENGINE_STALL = "specula.engine.stall";

    public static final String DRAFTER_FAULTS = "specula.drafter.faults";

    private static final double[] ACCEPTANCE_LENGTH_BUCKETS = { 1, 2, 3, 4, 5, 6, 8, 10, 12, 17 };

    private final SpeculaStatistics statistics;

    private final Tags tags;

    private final List<Bound> bound = new CopyOnWriteArrayList<>();

    private final @Nullable AdaptiveDrafter adaptive;

    /** Per registry, the gauges tagged with the serving drafter version (replaced at each swap). */
    private final List<VersionGauges> versionGauges = new CopyOnWriteArrayList<>();

    private final @Nullable Supplier<@Nullable ServingStatus> serving;

    public SpeculaMetrics(SpeculaStatistics statistics, EngineInfo info) {
        this(statistics, info, null, null);
    }

    /**
     * @param serving  the engine's load ({@code engine::servingStatus}); {@code null} leaves out the load gauges
     * @param adaptive the adaptive drafter, or {@code null} when the drafter does not adapt
     */
    public SpeculaMetrics(SpeculaStatistics statistics, EngineInfo info,
            @Nullable Supplier<@Nullable ServingStatus> serving, @Nullable AdaptiveDrafter adaptive) {
        this.statistics = statistics;
        this.tags = Tags.of("target", info.targetName(), "drafter", info.drafterName());
        this.serving = serving;
        this.adaptive = adaptive;
        if (adaptive != null) {
            adaptive.addVersionListener(this::rebindVersionGauges);
        }
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        SpeculaStatistics s = this.statistics;
        FunctionCounter.builder(DRAFTS, s, SpeculaStatistics::drafts)
            .description("Decoding steps that verified a draft of one or more tokens")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(DRAFT_TOKENS, s, SpeculaStatistics::draftedTokens)
            .description("Tokens proposed by the drafter and verified by the target")
            .baseUnit("tokens")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(ACCEPTED_TOKENS, s, SpeculaStatistics::acceptedTokens)
            .description("Drafted tokens the target accepted")
            .baseUnit("tokens")
            .tags(this.tags)
            .register(registry);
        for (int i = 0; i < DraftPolicy.MAX_DRAFT_TOKENS; i++) {
            int position = i;
            Tags positionTags = this.tags.and("position", Integer.toString(position));
            FunctionCounter.builder(DRAFT_TOKENS_PER_POSITION, s, st -> st.draftedAt(position))
                .description("Drafts that had a token at this draft position (0 = first drafted token)")
                .tags(positionTags)
                .register(registry);
            FunctionCounter.builder(ACCEPTED_TOKENS_PER_POSITION, s, st -> st.acceptedAt(position))
                .description("Drafts whose token at this draft position was accepted")
                .tags(positionTags)
                .register(registry);
        }
        Gauge.builder(ACCEPTANCE_RATE, s, SpeculaStatistics::recentAcceptanceRate)
            .description("Accepted / drafted tokens over the last " + SpeculaStatistics.DEFAULT_WINDOW
                    + " speculative steps")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(GENERATED_TOKENS, s, SpeculaStatistics::generatedTokens)
            .description("Output tokens of finished requests")
            .baseUnit("tokens")
            .tags(this.tags)
            .register(registry);
        for (FinishReason reason : FinishReason.values()) {
            FunctionCounter.builder(REQUESTS, s, st -> st.requests(reason))
                .description("Finished generation requests")
                .tags(this.tags.and("finish.reason", reason.name().toLowerCase(Locale.ROOT)))
                .register(registry);
        }
        FunctionCounter.builder(DRAFTER_FAULTS, s, SpeculaStatistics::drafterFaults)
            .description("Requests whose drafter failed (threw, NaN logits) and that finished with the target alone")
            .tags(this.tags)
            .register(registry);
        if (this.serving != null) {
            bindServing(registry, this.serving);
        }

        DistributionSummary acceptanceLength = DistributionSummary.builder(ACCEPTANCE_LENGTH)
            .description("Tokens produced per speculative step: accepted drafted tokens + 1")
            .serviceLevelObjectives(ACCEPTANCE_LENGTH_BUCKETS)
            .tags(this.tags)
            .register(registry);
        Timer draft = Timer.builder(DRAFT)
            .description("Time the drafter took to propose one step's draft")
            .tags(this.tags)
            .register(registry);
        Timer verifySpeculative = Timer.builder(VERIFY)
            .description("Time of one target pass after the prompt (speculative=true: it verified a draft)")
            .tags(this.tags.and("speculative", "true"))
            .register(registry);
        Timer verifyPlain = Timer.builder(VERIFY)
            .description("Time of one target pass after the prompt (speculative=true: it verified a draft)")
            .tags(this.tags.and("speculative", "false"))
            .register(registry);
        this.bound.add(new Bound(acceptanceLength, draft, verifySpeculative, verifyPlain));
        if (this.adaptive != null) {
            bindAdaptive(registry, this.adaptive);
        }
    }

    private void bindAdaptive(MeterRegistry registry, AdaptiveDrafter a) {
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
        this.versionGauges.add(gauges);
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
            for (VersionGauges gauges : this.versionGauges) {
                registerVersionGauges(gauges, a, version);
            }
        }
    }

    private record VersionGauges(MeterRegistry registry, List<Meter> meters) {
    }

    private void bindServing(MeterRegistry registry, Supplier<@Nullable ServingStatus> serving) {
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

    @Override
    public void onStep(StepEvent step) {
        boolean speculative = step.drafted() > 0;
        for (Bound meters : this.bound) {
            if (speculative) {
                meters.acceptanceLength().record(step.accepted() + 1);
                meters.draft().record(step.draftNanos(), TimeUnit.NANOSECONDS);
                meters.verifySpeculative().record(step.verifyNanos(), TimeUnit.NANOSECONDS);
            }
            else {
                meters.verifyPlain().record(step.verifyNanos(), TimeUnit.NANOSECONDS);
            }
        }
    }

    private record Bound(DistributionSummary acceptanceLength, Timer draft, Timer verifySpeculative,
            Timer verifyPlain) {
    }
}
