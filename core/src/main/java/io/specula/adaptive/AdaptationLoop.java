package io.specula.adaptive;

import io.specula.adaptive.AdaptiveDrafter.Outcome;
import io.specula.SpeculaException;
import io.specula.adaptive.AdaptiveDrafter.UpdateResult;
import io.specula.model.CausalLm;
import io.specula.training.ModelShape;
import io.specula.training.SafeTensorsFiles;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * The adaptive drafter's learning side: train, judge, swap, checkpoint.
 *
 * <ul>
 *   <li><b>Train.</b> A background thread (daemon, paced to {@code maxComputeShare} of a core, pausable) wakes every
 *       {@code updateInterval}; when enough new examples arrived it fine-tunes a <em>copy</em> of the serving drafter
 *       ({@link DrafterFineTuner}: DJL autograd, AdamW) for {@code stepsPerUpdate} steps.</li>
 *   <li><b>Judge.</b> The candidate and the serving version are scored offline on the same held-out examples
 *       ({@link AcceptanceEvaluator}: greedy acceptance, position by position); the candidate is swapped in
 *       ({@link DrafterVersions#swap}) only if it is better by a margin (a paired sign test, ties lose). A candidate
 *       that is not worse but not better by the margin is not served and the next update goes on training it; a
 *       worse one is discarded and the next update starts again from the serving weights.</li>
 *   <li><b>Checkpoint.</b> Each accepted version is written in the Hugging Face layout ({@link DrafterCheckpoints},
 *       with its {@link CheckpointInfo}).</li>
 * </ul>
 *
 * <p>A failed update (or checkpoint) is logged and counted; serving goes on with the last good version.
 *
 * <p>Why one class of ~420 lines: every change of the serving drafter version (an update, a rollback, a checkpoint of
 * it) happens under its one update lock, which is what keeps them from interleaving.
 */
final class AdaptationLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(AdaptationLoop.class);

    private final AdaptiveConfig config;
    private final String name;
    private final Path baseDir;
    private final String fingerprint;
    private final ModelShape shape;
    private final Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factory;
    private final int targetVocab;
    private final ExampleBuffer buffer;
    private final DrafterVersions versions;
    private final ReentrantLock updateLock = new ReentrantLock();
    private final SplittableRandom random;
    private final AtomicLong trainingSteps = new AtomicLong();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong rejected = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private volatile float lastLoss = Float.NaN;
    private volatile String lastError;
    private volatile Instant lastUpdate;
    private volatile boolean paused;
    private volatile boolean closed;
    private long lastUpdateCollected;
    private DrafterFineTuner tuner;
    /** The serving version the tuner's weights descend from (-1: none, reset before training). */
    private int tunerVersion = -1;
    /** The target version whose examples the tuner's weights were last trained on. */
    private int tunerTarget = -1;
    private ScheduledExecutorService scheduler;

    /**
     * @param factory builds a serving model of the loaded drafter's kind from trained weights
     * @param targetVocab the ids the target can emit
     */
    AdaptationLoop(AdaptiveConfig config, String name, Path baseDir, ModelShape shape,
                   Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factory, int targetVocab,
                   ExampleBuffer buffer, DrafterVersions versions) {
        this.config = config;
        this.name = name;
        this.baseDir = baseDir;
        this.fingerprint = DrafterCheckpoints.fingerprint(baseDir);
        this.shape = shape;
        this.factory = factory;
        this.targetVocab = targetVocab;
        this.buffer = buffer;
        this.versions = versions;
        this.random = new SplittableRandom(config.seed());
    }

    /** The base drafter's fingerprint, which its checkpoints carry. */
    String fingerprint() {
        return fingerprint;
    }

    /** Starts the background trainer (a daemon thread); no-op when adaptation is disabled or it already runs. */
    synchronized void start() {
        if (!config.enabled() || scheduler != null || closed) {
            return;
        }
        // One PyTorch thread for the trainer unless the application chose otherwise (read when DJL's engine starts).
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", "1");
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "specula-adaptive-trainer");
            t.setDaemon(true);
            t.setPriority(Thread.MIN_PRIORITY);
            return t;
        });
        long ms = config.updateInterval().toMillis();
        scheduler.scheduleWithFixedDelay(this::tick, ms, ms, TimeUnit.MILLISECONDS);
    }

    private void tick() {
        try {
            if (paused || closed || buffer.collected() - lastUpdateCollected < config.minNewExamples()) {
                return;
            }
            update(config.stepsPerUpdate());
        } catch (Throwable t) {
            // update() counts its own failures; this only keeps the schedule alive.
            log.warn("Adaptive drafter: trainer tick failed", t);
        }
    }

    void pause() {
        paused = true;
    }

    void resume() {
        paused = false;
    }

    boolean paused() {
        return paused;
    }

    /**
     * Runs one update of {@code steps} training steps now, in the calling thread: train a copy, evaluate, swap or
     * discard. Waits while another update runs. Never throws: a failure is counted and returned.
     */
    UpdateResult update(int steps) {
        updateLock.lock();
        try {
            return doUpdate(steps);
        } catch (InterruptedException e) {
            tunerVersion = -1;
            return result(Outcome.SKIPPED, 0, Float.NaN, null, null, 0, "stopped (paused or closing)");
        } catch (TargetChanged e) {
            tunerVersion = -1;
            return result(Outcome.SKIPPED, 0, Float.NaN, null, null, 0, e.getMessage());
        } catch (RuntimeException | LinkageError | OutOfMemoryError e) {
            tunerVersion = -1;
            failures.incrementAndGet();
            lastError = e.toString();
            log.warn("Adaptive drafter: update failed; serving goes on with version {}", versions.serving().number, e);
            return result(Outcome.FAILED, 0, Float.NaN, null, null, 0, e.toString());
        } finally {
            lastUpdate = Instant.now();
            updateLock.unlock();
        }
    }

    private UpdateResult doUpdate(int steps) throws InterruptedException {
        if (closed) {
            return result(Outcome.SKIPPED, 0, Float.NaN, null, null, 0, "closed");
        }
        DrafterVersions.Version cur = versions.acquire();
        try {
            List<Example> held = buffer.heldOut();
            long heldPositions = held.stream().mapToLong(Example::labels).sum();
            if (buffer.trainingSize() == 0) {
                return result(Outcome.SKIPPED, 0, Float.NaN, null, null, heldPositions, "no training examples yet");
            }
            if (heldPositions < config.minHeldOutPositions()) {
                return result(Outcome.SKIPPED, 0, Float.NaN, null, null, heldPositions, "the held-out slice has "
                        + heldPositions + " of the " + config.minHeldOutPositions() + " positions needed to judge");
            }
            long collectedAtStart = buffer.collected();
            int target = buffer.target();
            Throttle throttle = new Throttle(config.maxComputeShare(), () -> closed || paused);
            float meanLoss = train(cur, steps, throttle);
            lastUpdateCollected = collectedAtStart;
            Map<String, SafeTensorsFiles.Tensor> weights = tuner.weights();
            CausalLm candidate = factory.apply(weights);
            boolean kept = false;
            try {
                AcceptanceEvaluator.Score serving = AcceptanceEvaluator.evaluate(cur.model, held, targetVocab, throttle);
                AcceptanceEvaluator.Score cand = AcceptanceEvaluator.evaluate(candidate, held, targetVocab, throttle);
                cur.stats.heldOutMatch = serving.matchRate();
                cur.stats.heldOutExpected = serving.expectedAcceptance();
                if (!cand.beats(serving, AcceptanceEvaluator.MARGIN_Z)) {
                    rejected.incrementAndGet();
                    long won = cand.wonAgainst(serving);
                    long lost = serving.wonAgainst(cand);
                    if (!cand.worseThan(serving) && buffer.target() == target) {
                        // Not worse, only not better by the margin yet: the next update goes on training it rather
                        // than throwing its steps away (it is judged again before it serves).
                        tunerVersion = cur.number;
                        tunerTarget = target;
                    }
                    log.info("Adaptive drafter: candidate not served (held-out acceptance {} vs {} of version {}:"
                                    + " {} positions won, {} lost, a lead of {} needed){}", fmt(cand.matchRate()),
                            fmt(serving.matchRate()), cur.number, won, lost,
                            (long) Math.ceil(Math.max(1.0, AcceptanceEvaluator.MARGIN_Z * Math.sqrt(won + lost))),
                            tunerVersion == cur.number ? "; training goes on from it" : "; discarded");
                    return result(Outcome.REJECTED, steps, meanLoss, serving, cand, heldPositions, null);
                }
                if (buffer.target() != target) {
                    // Trained and judged on an older target's examples: not worth serving the new one.
                    return result(Outcome.SKIPPED, steps, meanLoss, serving, cand, heldPositions,
                            "the target was updated during the update (version " + target + " -> " + buffer.target()
                                    + "); discarded");
                }
                int number = versions.newNumber();
                DrafterVersions.VersionStats stats = new DrafterVersions.VersionStats(number, cur.number,
                        Instant.now());
                stats.heldOutMatch = cand.matchRate();
                stats.heldOutExpected = cand.expectedAcceptance();
                DrafterVersions.Version next = new DrafterVersions.Version(name, number, candidate, true, weights,
                        stats);
                kept = true;
                checkpoint(next);
                versions.swap(next);
                tunerVersion = number;
                tunerTarget = target;
                accepted.incrementAndGet();
                log.info("Adaptive drafter: version {} serves (held-out acceptance {} -> {}, loss {})", number,
                        fmt(serving.matchRate()), fmt(cand.matchRate()), fmt(meanLoss));
                return result(Outcome.ACCEPTED, steps, meanLoss, serving, cand, heldPositions, null);
            } finally {
                if (!kept) {
                    candidate.close();
                }
            }
        } finally {
            cur.release();
        }
    }

    /** Fine-tunes a copy of {@code cur} for {@code steps} steps; returns the mean loss. */
    private float train(DrafterVersions.Version cur, int steps, Throttle throttle) throws InterruptedException {
        if (tuner == null) {
            tuner = new DrafterFineTuner(shape, cur.weights, config);
        } else if (tunerVersion != cur.number || tunerTarget != buffer.target()) {
            // The last candidate was worse (or an update failed, or it learnt an older target's examples): start
            // again from the serving weights.
            tuner.reset(cur.weights);
        }
        // Until a candidate is accepted (or kept training) the tuner holds weights that serve nowhere.
        tunerVersion = -1;
        tunerTarget = buffer.target();
        double lossSum = 0;
        for (int i = 0; i < steps; i++) {
            long t0 = System.nanoTime();
            List<Example> batch = buffer.sample(config.batchSize(), random);
            if (batch == null) {
                // A target update emptied the buffer under way: what was trained so far is the old target's.
                throw new TargetChanged("the target was updated during the update; discarded");
            }
            float loss = tuner.step(batch, config.learningRate());
            lossSum += loss;
            lastLoss = loss;
            trainingSteps.incrementAndGet();
            throttle.worked(System.nanoTime() - t0);
        }
        return (float) (lossSum / steps);
    }

    /** Serves {@code number} again (0: the base drafter; else its checkpoint); see AdaptiveDrafter#rollback. */
    int rollback(int number) {
        updateLock.lock();
        try {
            if (closed) {
                throw new SpeculaException("adaptive: closed");
            }
            if (versions.serving().number == number) {
                return number;
            }
            Path from;
            com.google.gson.JsonObject info = null;
            if (number == 0) {
                from = baseDir;
            } else {
                DrafterCheckpoints.Checkpoint c = DrafterCheckpoints.list(config.checkpointDir()).stream()
                        .filter(k -> k.version() == number).findFirst()
                        .orElseThrow(() -> new SpeculaException("adaptive: no checkpoint of drafter version " + number
                                + (config.checkpointDir() == null ? " (no checkpoint-dir is configured)"
                                : " in " + config.checkpointDir()) + "; rollback needs version 0 or a checkpoint"));
                if (!fingerprint.equals(CheckpointInfo.baseFingerprint(c.info()))) {
                    throw new SpeculaException("adaptive: checkpoint " + c.dir() + " was made from another drafter");
                }
                from = c.dir();
                info = c.info();
            }
            Map<String, SafeTensorsFiles.Tensor> weights = AdaptiveDrafter.readWeights(from, shape);
            CausalLm model = factory.apply(weights);
            DrafterVersions.VersionStats stats = versions.listed(number);
            if (stats == null) {
                stats = new DrafterVersions.VersionStats(number, info == null ? -1 : CheckpointInfo.basedOn(info),
                        Instant.now());
            }
            versions.swap(new DrafterVersions.Version(name, number, model, true, weights, stats));
            tunerVersion = -1;      // the next update starts from the rolled-back weights
            log.info("Adaptive drafter: rolled back to version {} ({})", number, from);
            return number;
        } finally {
            updateLock.unlock();
        }
    }

    /** Writes the serving version to the checkpoint directory now; returns its folder. */
    Path checkpointNow() {
        if (config.checkpointDir() == null) {
            throw new SpeculaException("adaptive: no checkpoint directory is configured "
                    + "(spring.ai.specula.adaptive.checkpoint-dir)");
        }
        updateLock.lock();
        try {
            DrafterVersions.Version v = versions.acquire();
            try {
                return DrafterCheckpoints.write(config.checkpointDir(), v.number, baseDir, v.weights,
                        info(v).toJson(), config.checkpointRetention());
            } finally {
                v.release();
            }
        } finally {
            updateLock.unlock();
        }
    }

    boolean updating() {
        return updateLock.isLocked();
    }

    /** A target update emptied the buffer during an update: the update stops, skipped, not failed. */
    private static final class TargetChanged extends RuntimeException {
        TargetChanged(String message) {
            super(message, null, false, false);
        }
    }

    /** What a version's checkpoint says about it. */
    CheckpointInfo info(DrafterVersions.Version v) {
        return new CheckpointInfo(v.number, name, fingerprint, v.stats.basedOn, v.stats.created, v.stats.heldOutMatch,
                v.stats.heldOutExpected, trainingSteps.get(), buffer.collected(), config.loss());
    }

    /** Writes the serving version as a drafter folder; returns its version number. */
    int export(Path dir) {
        updateLock.lock();
        try {
            DrafterVersions.Version v = versions.serving();
            DrafterCheckpoints.export(dir, baseDir, v.weights, info(v).toJson());
            return v.number;
        } finally {
            updateLock.unlock();
        }
    }

    private void checkpoint(DrafterVersions.Version v) {
        if (config.checkpointDir() == null) {
            return;
        }
        try {
            DrafterCheckpoints.write(config.checkpointDir(), v.number, baseDir, v.weights, info(v).toJson(),
                    config.checkpointRetention());
        } catch (RuntimeException e) {
            // The new version still serves; only its persistence failed.
            failures.incrementAndGet();
            lastError = e.toString();
            log.warn("Adaptive drafter: checkpoint of version {} failed", v.number, e);
        }
    }

    private UpdateResult result(Outcome o, int steps, float loss, AcceptanceEvaluator.Score serving,
                                AcceptanceEvaluator.Score cand, long heldPositions, String message) {
        return new UpdateResult(o, versions.serving().number, steps, loss,
                serving == null ? Double.NaN : serving.matchRate(), cand == null ? Double.NaN : cand.matchRate(),
                serving == null ? Double.NaN : serving.expectedAcceptance(),
                cand == null ? Double.NaN : cand.expectedAcceptance(), heldPositions, message);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4f", v);
    }

    long trainingSteps() {
        return trainingSteps.get();
    }

    float lastLoss() {
        return lastLoss;
    }

    long updatesAccepted() {
        return accepted.get();
    }

    long updatesRejected() {
        return rejected.get();
    }

    long failures() {
        return failures.get();
    }

    String lastError() {
        return lastError;
    }

    Instant lastUpdate() {
        return lastUpdate;
    }

    boolean closed() {
        return closed;
    }

    /** Stops the background trainer (waiting for a step under way) and frees the tuner. */
    @Override
    public void close() {
        closed = true;
        ScheduledExecutorService s;
        synchronized (this) {
            s = scheduler;
            scheduler = null;
        }
        if (s != null) {
            s.shutdownNow();
            try {
                s.awaitTermination(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        updateLock.lock();
        try {
            if (tuner != null) {
                tuner.close();
                tuner = null;
            }
        } finally {
            updateLock.unlock();
        }
    }
}
