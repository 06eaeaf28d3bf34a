package io.specula.adaptive;

import io.specula.FieldErrors;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;

/**
 * How the adaptive drafter learns from live traffic (see {@link AdaptiveDrafter} and {@code docs/adaptive.md}).
 *
 * @param enabled             learn at all; off, the drafter is served as loaded
 * @param bufferSize          examples (windows of at most {@code windowTokens} positions from one request) kept, the
 *                            oldest dropped first; the held-out slice is {@code heldOutFraction} of it on top
 * @param batchSize           examples per training step
 * @param learningRate        AdamW learning rate (constant: the stream has no end to schedule towards)
 * @param updateInterval      how often the background trainer looks for new examples
 * @param stepsPerUpdate      training steps of one update (then the candidate is evaluated and kept or discarded)
 * @param minNewExamples      an update runs only when at least this many examples arrived since the last one
 * @param maxComputeShare     the largest share of one core the trainer may use, in (0, 1]: after a step that took t
 *                            it sleeps t (1 - share) / share
 * @param heldOutFraction     the share of requests kept out of training to compare drafter versions, in (0, 0.5]
 * @param minHeldOutPositions a candidate is only judged (and so only swapped in) once the held-out slice has this
 *                            many labelled positions
 * @param topK                entries of the target's distribution kept per position (1 = the verified token only)
 * @param windowTokens        the longest training window (context + labelled positions)
 * @param loss                distillation from the target's top-k distribution, or cross-entropy on its tokens
 * @param checkpointDir       where each accepted version is written in the Hugging Face layout and reloaded from at
 *                            start-up; {@code null}: no checkpoints
 * @param checkpointRetention the number of newest checkpoints kept
 * @param seed                seeds batch sampling
 */
public record AdaptiveConfig(boolean enabled, int bufferSize, int batchSize, float learningRate,
                             Duration updateInterval, int stepsPerUpdate, int minNewExamples, double maxComputeShare,
                             double heldOutFraction, int minHeldOutPositions, int topK, int windowTokens, Loss loss,
                             Path checkpointDir, int checkpointRetention, long seed) {

    /** The training objective. */
    public enum Loss {
        /** KL(target || drafter) on the target's top-k distribution (renormalised): distillation. */
        KL,
        /** Cross-entropy on the token the target chose: cheaper to keep (top-k of 1), coarser. */
        CROSS_ENTROPY;

        /** The name in configuration: "kl", "cross-entropy". */
        public String configName() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** Parses a configured name (any case); an unknown one adds an error under {@code loss} and gives null. */
        public static Loss parse(String name, FieldErrors errors) {
            String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
            for (Loss l : values()) {
                if (l.configName().equals(n)) {
                    return l;
                }
            }
            errors.add("loss", "expected \"kl\" or \"cross-entropy\", got '" + name + "'");
            return null;
        }
    }

    /** Adaptation off. */
    public static final AdaptiveConfig DISABLED = defaults().withEnabled(false);

    public AdaptiveConfig {
        // Every setting at fault, named as spring.ai.specula.adaptive.* names it (the properties validate with this).
        FieldErrors errors = new FieldErrors();
        for (var positive : new Object[][] {{"bufferSize", bufferSize}, {"batchSize", batchSize},
                {"stepsPerUpdate", stepsPerUpdate}, {"minNewExamples", minNewExamples},
                {"minHeldOutPositions", minHeldOutPositions}, {"topK", topK},
                {"checkpointRetention", checkpointRetention}}) {
            errors.check((String) positive[0], (Integer) positive[1], n -> n >= 1, "expected an integer >= 1");
        }
        errors.check("windowTokens", windowTokens, n -> n >= 4, "expected an integer >= 4");
        errors.check("learningRate", learningRate, r -> r > 0 && Float.isFinite(r), "expected a number > 0");
        if (updateInterval == null || updateInterval.isNegative() || updateInterval.isZero()) {
            errors.add("updateInterval", "expected a positive duration, got " + updateInterval);
        }
        errors.check("maxComputeShare", maxComputeShare, v -> v > 0 && v <= 1, "expected a number in (0, 1]");
        errors.check("heldOutFraction", heldOutFraction, v -> v > 0 && v <= 0.5, "expected a number in (0, 0.5]");
        errors.throwIfAny();
        loss = loss == null ? Loss.KL : loss;
    }

    /** On, with the defaults of {@code spring.ai.specula.adaptive.*}. */
    public static AdaptiveConfig defaults() {
        return new AdaptiveConfig(true, 2048, 8, 3e-4f, Duration.ofSeconds(30), 20, 32, 0.25, 0.1, 256, 16, 128,
                Loss.KL, null, 3, 1234);
    }

    public AdaptiveConfig withEnabled(boolean v) {
        return new AdaptiveConfig(v, bufferSize, batchSize, learningRate, updateInterval, stepsPerUpdate,
                minNewExamples, maxComputeShare, heldOutFraction, minHeldOutPositions, topK, windowTokens, loss,
                checkpointDir, checkpointRetention, seed);
    }

    public AdaptiveConfig withTraining(int batchSize, float learningRate, int stepsPerUpdate) {
        return new AdaptiveConfig(enabled, bufferSize, batchSize, learningRate, updateInterval, stepsPerUpdate,
                minNewExamples, maxComputeShare, heldOutFraction, minHeldOutPositions, topK, windowTokens, loss,
                checkpointDir, checkpointRetention, seed);
    }

    public AdaptiveConfig withSchedule(Duration updateInterval, int minNewExamples, double maxComputeShare) {
        return new AdaptiveConfig(enabled, bufferSize, batchSize, learningRate, updateInterval, stepsPerUpdate,
                minNewExamples, maxComputeShare, heldOutFraction, minHeldOutPositions, topK, windowTokens, loss,
                checkpointDir, checkpointRetention, seed);
    }

    public AdaptiveConfig withBuffer(int bufferSize, double heldOutFraction, int minHeldOutPositions, int topK,
                                     int windowTokens, Loss loss) {
        return new AdaptiveConfig(enabled, bufferSize, batchSize, learningRate, updateInterval, stepsPerUpdate,
                minNewExamples, maxComputeShare, heldOutFraction, minHeldOutPositions, topK, windowTokens, loss,
                checkpointDir, checkpointRetention, seed);
    }

    public AdaptiveConfig withCheckpoints(Path checkpointDir, int checkpointRetention) {
        return new AdaptiveConfig(enabled, bufferSize, batchSize, learningRate, updateInterval, stepsPerUpdate,
                minNewExamples, maxComputeShare, heldOutFraction, minHeldOutPositions, topK, windowTokens, loss,
                checkpointDir, checkpointRetention, seed);
    }

    public AdaptiveConfig withSeed(long seed) {
        return new AdaptiveConfig(enabled, bufferSize, batchSize, learningRate, updateInterval, stepsPerUpdate,
                minNewExamples, maxComputeShare, heldOutFraction, minHeldOutPositions, topK, windowTokens, loss,
                checkpointDir, checkpointRetention, seed);
    }
}
