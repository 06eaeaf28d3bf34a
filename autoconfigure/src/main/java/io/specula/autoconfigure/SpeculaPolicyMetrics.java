package io.specula.autoconfigure;

import java.util.function.Supplier;
import io.specula.speculative.policy.DraftPolicy;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.specula.engine.EngineInfo;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.AdaptiveSnapshot;

/**
 * Meters for the adaptive draft policy's state (the default policy, which turns speculation off when it does not
 * pay): how often it chose each draft length, the share of steps decoded by the target alone, its probes, and the
 * live estimates it decides from (acceptance by draft position, drafter and target costs). Tags are bounded: the
 * model names, a draft length (0..16), a draft position (0..15) or a pass width (1..17).
 */
public class SpeculaPolicyMetrics implements SpeculaTargetMeters.Retaggable {

    public static final String CHOSEN_DRAFT_LENGTH = "specula.policy.draft.length.chosen";

    public static final String PLAIN_SHARE = "specula.policy.plain.step.share";

    public static final String PROBES = "specula.policy.probes";

    public static final String ACCEPTANCE_ESTIMATE = "specula.policy.acceptance.estimate";

    public static final String DRAFT_COST = "specula.policy.draft.cost";

    public static final String DRAFT_FIXED_COST = "specula.policy.draft.fixed.cost";

    public static final String CATCH_UP_COST = "specula.policy.catch.up.cost";

    public static final String DRAFTING = "specula.policy.drafting";

    public static final String VERIFY_COST = "specula.policy.verify.cost";

    private final Supplier<AdaptiveSnapshot> policy;

    private volatile Tags tags;

    public SpeculaPolicyMetrics(Supplier<AdaptiveSnapshot> policy, EngineInfo info) {
        this.policy = policy;
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void retag(EngineInfo info) {
        this.tags = SpeculaMetrics.tags(info);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        int maxGamma = DraftPolicy.MAX_DRAFT_TOKENS;
        for (int g = 0; g <= maxGamma; g++) {
            int gamma = g;
            FunctionCounter.builder(CHOSEN_DRAFT_LENGTH, this.policy, p -> at(p.get().draftLengthHistogram(), gamma))
                .description("Decoding steps for which the adaptive policy chose this draft length (0 = target alone)")
                .tags(this.tags.and("gamma", Integer.toString(gamma)))
                .register(registry);
        }
        Gauge.builder(PLAIN_SHARE, this.policy, p -> p.get().plainShare())
            .description("Share of the adaptive policy's steps decoded by the target alone (speculation did not pay)")
            .tags(this.tags)
            .register(registry);
        FunctionCounter.builder(PROBES, this.policy, p -> p.get().probes())
            .description("Short drafts tried while speculation was off, to notice when the drafter helps again")
            .tags(this.tags.and("outcome", "all"))
            .register(registry);
        FunctionCounter.builder(PROBES, this.policy, p -> p.get().successfulProbes())
            .description("Short drafts tried while speculation was off, to notice when the drafter helps again")
            .tags(this.tags.and("outcome", "accepted"))
            .register(registry);
        for (int i = 0; i < maxGamma; i++) {
            int position = i;
            Gauge.builder(ACCEPTANCE_ESTIMATE, this.policy, p -> at(p.get().acceptanceByPosition(), position))
                .description("The policy's smoothed probability that this draft position is accepted, given the "
                        + "earlier ones were")
                .tags(this.tags.and("position", Integer.toString(position)))
                .register(registry);
        }
        Gauge.builder(DRAFT_COST, this.policy, p -> p.get().draftNanosPerToken() / 1e9)
            .description("The policy's estimated cost of a draft per drafted token (on top of its fixed part)")
            .baseUnit("seconds")
            .tags(this.tags)
            .register(registry);
        Gauge.builder(DRAFT_FIXED_COST, this.policy, p -> p.get().draftFixedNanos() / 1e9)
            .description("The policy's estimated fixed cost of a draft, whatever its length")
            .baseUnit("seconds")
            .tags(this.tags)
            .register(registry);
        Gauge.builder(CATCH_UP_COST, this.policy, p -> p.get().catchUpNanosPerToken() / 1e9)
            .description("The policy's estimated cost of catching the drafter up, per token it has not seen")
            .baseUnit("seconds")
            .tags(this.tags)
            .register(registry);
        Gauge.builder(DRAFTING, this.policy, p -> p.get().outlook().drafting() ? 1 : 0)
            .description("1 while the adaptive policy's estimates say drafting pays, 0 while it decodes with the "
                    + "target alone (and probes now and then)")
            .tags(this.tags)
            .register(registry);
        for (int w = 1; w <= maxGamma + 1; w++) {
            int width = w;
            Gauge.builder(VERIFY_COST, this.policy, p -> at(p.get().verifyNanosByWidth(), width - 1) / 1e9)
                .description("The policy's smoothed cost of a target pass scoring this many positions")
                .baseUnit("seconds")
                .tags(this.tags.and("width", Integer.toString(width)))
                .register(registry);
        }
    }

    private static double at(long[] values, int i) {
        return i < values.length ? values[i] : 0;
    }

    private static double at(double[] values, int i) {
        return i < values.length ? values[i] : 0;
    }
}
