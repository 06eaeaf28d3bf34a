package io.specula.autoconfigure;

import java.nio.file.Path;
import java.time.Duration;

import io.specula.FieldErrors;
import io.specula.InvalidRequestException;
import io.specula.adaptive.AdaptiveConfig;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.StringUtils;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * The adaptive drafter ({@code spring.ai.specula.adaptive.*}): the drafter keeps learning from the target's verified
 * outputs while the application serves, in a background thread, and a new version replaces the serving one only if it
 * does not lower the acceptance rate on held-out recent traffic. Needs a model drafter (a plain Llama model). See
 * {@code docs/adaptive.md}.
 */
@ConfigurationProperties(prefix = SpeculaAdaptiveProperties.CONFIG_PREFIX, ignoreUnknownFields = false)
public class SpeculaAdaptiveProperties implements Validator {

    public static final String CONFIG_PREFIX = "spring.ai.specula.adaptive";

    private static final AdaptiveConfig DEFAULTS = AdaptiveConfig.defaults();

    /** Whether the drafter learns from live traffic; off, it serves as loaded. */
    private boolean enabled = false;

    /**
     * Training examples kept (windows of at most window-tokens positions from one request), newest first; the
     * held-out slice comes on top.
     */
    private int bufferSize = DEFAULTS.bufferSize();

    /** Examples per training step. */
    private int batchSize = DEFAULTS.batchSize();

    /** AdamW learning rate of the fine-tuning (constant). */
    private double learningRate = DEFAULTS.learningRate();

    /** How often the background trainer looks for new examples. */
    private Duration updateInterval = DEFAULTS.updateInterval();

    /** Training steps per update; then the candidate is compared with the serving drafter and kept or discarded. */
    private int stepsPerUpdate = DEFAULTS.stepsPerUpdate();

    /** An update runs only when at least this many examples arrived since the last one. */
    private int minNewExamples = DEFAULTS.minNewExamples();

    /**
     * Largest share of one CPU core the trainer may use, in (0, 1]: after a training step that took t it sleeps
     * t (1 - share) / share.
     */
    private double maxComputeShare = DEFAULTS.maxComputeShare();

    /** Share of requests kept out of training to compare drafter versions on, in (0, 0.5]. */
    private double heldOutFraction = DEFAULTS.heldOutFraction();

    /** A candidate is only judged (and so only swapped in) once the held-out slice has this many positions. */
    private int minHeldOutPositions = DEFAULTS.minHeldOutPositions();

    /** Entries of the target's next-token distribution kept per position (1 keeps only the token it chose). */
    private int topK = DEFAULTS.topK();

    /** Longest training window in tokens (context and labelled positions). */
    private int windowTokens = DEFAULTS.windowTokens();

    /**
     * Training objective: "kl" (distillation: KL from the target's top-k distribution) or "cross-entropy" (on the
     * tokens the target chose; cheaper).
     */
    private String loss = DEFAULTS.loss().configName();

    /**
     * Directory for checkpoints of the adapted drafter (one Hugging Face model folder per version); the newest one
     * made from the same drafter is loaded at start-up. Empty: no checkpoints, learning starts over at each start.
     */
    private @Nullable String checkpointDir;

    /** Checkpoints kept (the newest). */
    private int checkpointRetention = DEFAULTS.checkpointRetention();

    /** The adaptive drafter's configuration; call after validation (a bad value fails here). */
    public AdaptiveConfig toConfig() {
        FieldErrors errors = new FieldErrors();
        AdaptiveConfig config = toConfig(errors);
        errors.throwIfAny();
        return config;
    }

    private AdaptiveConfig toConfig(FieldErrors errors) {
        AdaptiveConfig.Loss l = AdaptiveConfig.Loss.parse(this.loss, errors);
        Path dir = StringUtils.hasText(this.checkpointDir) ? Path.of(this.checkpointDir.trim()).toAbsolutePath() : null;
        return new AdaptiveConfig(this.enabled, this.bufferSize, this.batchSize, (float) this.learningRate,
                this.updateInterval, this.stepsPerUpdate, this.minNewExamples, this.maxComputeShare,
                this.heldOutFraction, this.minHeldOutPositions, this.topK, this.windowTokens, l, dir,
                this.checkpointRetention, DEFAULTS.seed());
    }

    @Override
    public boolean supports(Class<?> type) {
        return SpeculaAdaptiveProperties.class.isAssignableFrom(type);
    }

    /** The engine's rules of the adaptive drafter's configuration, reported against the properties that hold them. */
    @Override
    public void validate(Object target, Errors errors) {
        SpeculaAdaptiveProperties p = (SpeculaAdaptiveProperties) target;
        FieldErrors found = new FieldErrors();
        try {
            p.toConfig(found);
        }
        catch (InvalidRequestException ex) {
            ex.errors().forEach(e -> found.add(e.field(), e.message()));
        }
        found.list().forEach(e -> errors.rejectValue(e.field(), "specula.adaptive." + e.field(), e.message()));
    }

    public boolean isEnabled() {
        return this.enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public int getBufferSize() {
        return this.bufferSize;
    }

    public void setBufferSize(int bufferSize) {
        this.bufferSize = bufferSize;
    }

    public int getBatchSize() {
        return this.batchSize;
    }

    public void setBatchSize(int batchSize) {
        this.batchSize = batchSize;
    }

    public double getLearningRate() {
        return this.learningRate;
    }

    public void setLearningRate(double learningRate) {
        this.learningRate = learningRate;
    }

    public Duration getUpdateInterval() {
        return this.updateInterval;
    }

    public void setUpdateInterval(Duration updateInterval) {
        this.updateInterval = updateInterval;
    }

    public int getStepsPerUpdate() {
        return this.stepsPerUpdate;
    }

    public void setStepsPerUpdate(int stepsPerUpdate) {
        this.stepsPerUpdate = stepsPerUpdate;
    }

    public int getMinNewExamples() {
        return this.minNewExamples;
    }

    public void setMinNewExamples(int minNewExamples) {
        this.minNewExamples = minNewExamples;
    }

    public double getMaxComputeShare() {
        return this.maxComputeShare;
    }

    public void setMaxComputeShare(double maxComputeShare) {
        this.maxComputeShare = maxComputeShare;
    }

    public double getHeldOutFraction() {
        return this.heldOutFraction;
    }

    public void setHeldOutFraction(double heldOutFraction) {
        this.heldOutFraction = heldOutFraction;
    }

    public int getMinHeldOutPositions() {
        return this.minHeldOutPositions;
    }

    public void setMinHeldOutPositions(int minHeldOutPositions) {
        this.minHeldOutPositions = minHeldOutPositions;
    }

    public int getTopK() {
        return this.topK;
    }

    public void setTopK(int topK) {
        this.topK = topK;
    }

    public int getWindowTokens() {
        return this.windowTokens;
    }

    public void setWindowTokens(int windowTokens) {
        this.windowTokens = windowTokens;
    }

    public String getLoss() {
        return this.loss;
    }

    public void setLoss(String loss) {
        this.loss = loss;
    }

    public @Nullable String getCheckpointDir() {
        return this.checkpointDir;
    }

    public void setCheckpointDir(@Nullable String checkpointDir) {
        this.checkpointDir = checkpointDir;
    }

    public int getCheckpointRetention() {
        return this.checkpointRetention;
    }

    public void setCheckpointRetention(int checkpointRetention) {
        this.checkpointRetention = checkpointRetention;
    }
}
