package io.specula.autoconfigure;

import java.util.Map;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.specula.engine.EngineInfo;
import io.specula.generate.DecodingListener;
import io.specula.generate.FinishReason;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.speculative.stats.SpeculationStatistics;

/**
 * Micrometer meters of speculative decoding, modelled on vLLM's {@code spec_decode} metrics. Counters and the
 * acceptance-rate gauge read the engine's one {@link SpeculationStatistics} (the count the endpoint and every
 * response's metadata come from too); the timers and the acceptance-length summary need each step as it happens, so
 * this binder also hears the steps ({@link DecodingListener}) and records them.
 *
 * <p>
 * Every meter is tagged {@code target} and {@code drafter} (the model names, {@link #tags}); per-position counters add
 * {@code position} (0 .. 15, bounded by the largest draft length), the request counter {@code finish.reason}, the
 * verify timer {@code speculative}. No tag carries request data. The engine's load ({@link SpeculaServingMetrics}),
 * the adaptive drafter ({@link SpeculaAdaptiveMetrics}) and the draft policy ({@link SpeculaPolicyMetrics}) have meters
 * of their own. See {@code docs/metrics.md}.
 */
public class SpeculaMetrics implements SpeculaTargetMeters.Retaggable, DecodingListener {

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

    public static final String DRAFTER_FAULTS = "specula.drafter.faults";

    private static final double[] ACCEPTANCE_LENGTH_BUCKETS = { 1, 2, 3, 4, 5, 6, 8, 10, 12, 17 };

    private final SpeculationStatistics statistics;

    private volatile Tags tags;

    /** Per registry, the meters recorded as steps happen (replaced when a target update binds them again). */
    private final Map<MeterRegistry, Bound> bound = new ConcurrentHashMap<>();

    public SpeculaMetrics(SpeculationStatistics statistics, EngineInfo info) {
        this.statistics = statistics;
        this.tags = tags(info);
    }

    /** The tags of every Specula meter: the model pair. */
    static Tags tags(EngineInfo info) {
        return Tags.of("target", info.targetName(), "drafter", info.drafterName());
    }

    @Override
    public void retag(EngineInfo info) {
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        SpeculationStatistics s = this.statistics;
        FunctionCounter.builder(DRAFTS, s, SpeculationStatistics::drafts)
            .description("Decoding steps that verified a draft of one or more tokens")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(DRAFT_TOKENS, s, SpeculationStatistics::draftTokens)
            .description("Tokens proposed by the drafter and verified by the target")
            .baseUnit("tokens")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(ACCEPTED_TOKENS, s, SpeculationStatistics::acceptedTokens)
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
        Gauge.builder(ACCEPTANCE_RATE, s, SpeculationStatistics::recentAcceptanceRate)
            .description("Accepted / drafted tokens over the last " + SpeculationStatistics.DEFAULT_WINDOW
                    + " speculative steps")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(GENERATED_TOKENS, s, SpeculationStatistics::generatedTokens)
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
        FunctionCounter.builder(DRAFTER_FAULTS, s, SpeculationStatistics::drafterFaults)
            .description("Requests whose drafter failed (threw, NaN logits) and that finished with the target alone")
            .tags(this.tags)
            .register(registry);

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
        this.bound.put(registry, new Bound(acceptanceLength, draft, verifySpeculative, verifyPlain));
    }

    @Override
    public void onStep(StepEvent step) {
        boolean speculative = step.drafted() > 0;
        for (Bound meters : this.bound.values()) {
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
