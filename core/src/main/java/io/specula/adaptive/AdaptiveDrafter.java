package io.specula.adaptive;

import com.google.gson.JsonObject;
import io.specula.SpeculaException;
import io.specula.generate.FinishReason;
import io.specula.model.CausalLm;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.WeightLoader;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.model.llama.LlamaModel;
import io.specula.model.llama.LlamaWeights;
import io.specula.speculative.VerificationObserver;
import io.specula.speculative.drafter.Draft;
import io.specula.speculative.drafter.DraftContext;
import io.specula.speculative.drafter.DraftGate;
import io.specula.speculative.drafter.DraftSession;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.training.ModelShape;
import io.specula.training.SafeTensorsFiles;
import io.specula.training.TrainableLlama;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * A model drafter that keeps learning from the target while the application serves.
 *
 * <ul>
 *   <li><b>Collect.</b> As a {@link VerificationObserver} it sees, for every output token of a speculative request,
 *       the target's logits that chose it; it keeps the top-k of that distribution and the token, and at the end of
 *       the request puts training windows into a bounded {@link ExampleBuffer} (about {@code heldOutFraction} of the
 *       requests go to a held-out slice instead).</li>
 *   <li><b>Train.</b> A background thread (daemon, paced to {@code maxComputeShare} of a core, pausable) wakes every
 *       {@code updateInterval}; when enough new examples arrived it fine-tunes a <em>copy</em> of the serving drafter
 *       ({@link DrafterFineTuner}: DJL autograd, AdamW) for {@code stepsPerUpdate} steps.</li>
 *   <li><b>Judge.</b> The candidate and the serving version are scored offline on the same held-out examples
 *       ({@link AcceptanceEvaluator}: greedy acceptance, then expected acceptance under sampling); the candidate is
 *       swapped in only if it does not score lower, otherwise it is discarded.</li>
 *   <li><b>Swap.</b> The serving version sits in an {@link AtomicReference}. A request opens its draft session on the
 *       version current at its start and keeps it to its end (its KV cache was computed by those weights; switching
 *       mid-request would mean a second prefill); the next request gets the new version. Old versions are released
 *       when their last session closes. Serving never waits for training.</li>
 *   <li><b>Checkpoint.</b> Each accepted version is written in the Hugging Face layout ({@link DrafterCheckpoints})
 *       and the newest valid one is loaded at start-up.</li>
 * </ul>
 *
 * <p>A failed update (or checkpoint) is logged and counted; serving goes on with the last good version. Whatever the
 * drafter does, verification keeps the output exactly the target's.
 */
public final class AdaptiveDrafter implements Drafter, VerificationObserver {

    private static final Logger log = LoggerFactory.getLogger(AdaptiveDrafter.class);

    /** Versions listed in {@link #status()}. */
    static final int VERSIONS_LISTED = 8;

    private final AdaptiveConfig config;
    private final String name;
    private final Path baseDir;
    private final ModelShape shape;
    private final Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factory;
    private final int targetVocab;
    private final int readableVocab;
    private final String fingerprint;
    private final ExampleBuffer buffer;
    private final AtomicReference<Version> current = new AtomicReference<>();
    private final ArrayDeque<VersionStats> history = new ArrayDeque<>();
    private final ReentrantLock updateLock = new ReentrantLock();
    private final AtomicLong requestIds = new AtomicLong();
    private final List<IntConsumer> versionListeners = new CopyOnWriteArrayList<>();
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
    private int nextVersion = 1;
    private long lastUpdateCollected;
    private DrafterFineTuner tuner;
    private int tunerVersion = -1;
    private ScheduledExecutorService scheduler;

    private AdaptiveDrafter(AdaptiveConfig config, String name, Path baseDir, ModelShape shape,
                            Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factory, int targetVocab,
                            int drafterVocab) {
        this.config = config;
        this.name = name;
        this.baseDir = baseDir;
        this.shape = shape;
        this.factory = factory;
        this.targetVocab = targetVocab;
        this.readableVocab = Math.min(targetVocab, drafterVocab);
        this.fingerprint = DrafterCheckpoints.fingerprint(baseDir);
        this.buffer = new ExampleBuffer(config.bufferSize(), config.heldOutFraction());
        this.random = new SplittableRandom(config.seed());
    }

    /**
     * Wraps a loaded model drafter; loads the newest checkpoint of {@code config.checkpointDir()} made from the same
     * base drafter, if any. Does not start the background trainer ({@link #start()}).
     *
     * @param baseDir     the drafter's model directory (its weights are read again, as float32, to train from)
     * @param baseModel   the loaded drafter (not owned: closing this leaves it open)
     * @param targetVocab the ids the target can emit
     * @throws SpeculaException when the drafter cannot be trained (not a plain Llama model)
     */
    public static AdaptiveDrafter create(AdaptiveConfig config, String name, Path baseDir, CausalLm baseModel,
                                         int targetVocab) {
        if (baseDir != null && java.nio.file.Files.isRegularFile(baseDir)) {
            throw new SpeculaException("adaptive: the drafter '" + name + "' is a GGUF file (" + baseDir + "); the "
                    + "adaptive drafter fine-tunes a Hugging Face model directory (safetensors): point the drafter at "
                    + "one, or disable spring.ai.specula.adaptive");
        }
        ModelConfig mc = baseModel.config();
        ModelShape shape;
        try {
            shape = ModelShape.of(mc);
        } catch (IllegalArgumentException e) {
            throw new SpeculaException("adaptive: the drafter '" + name + "' cannot be fine-tuned: " + e.getMessage(), e);
        }
        AdaptiveDrafter d = new AdaptiveDrafter(config, name, baseDir, shape, factoryFor(mc, baseModel), targetVocab,
                baseModel.vocabSize());
        Version base = new Version(name, 0, baseModel, false, readWeights(baseDir, shape),
                new VersionStats(0, -1, Instant.now()));
        d.install(base);
        d.loadCheckpoint();
        return d;
    }

    /** Builds serving models of the same kind as the loaded drafter (Java kernel, or DJL on the same device). */
    private static Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factoryFor(ModelConfig c, CausalLm base) {
        Path origin = Path.of("adaptive-drafter");
        if (base instanceof LlamaModel m) {
            // new versions get the base's quantization, so a swap does not change what a drafted token costs
            return w -> new LlamaModel(c, LlamaWeights.load(c, new WeightLoader(SafeTensorsFiles.source(origin, w),
                    m.quantization(), false)), m.kernel());
        }
        if (base instanceof DjlLlamaModel m) {
            return w -> DjlLlamaModel.create(c, SafeTensorsFiles.source(origin, w), m.device(), m.dataType());
        }
        throw new SpeculaException("adaptive: the drafter's compute path (" + base.getClass().getSimpleName()
                + ") cannot be rebuilt with new weights");
    }

    private static Map<String, SafeTensorsFiles.Tensor> readWeights(Path dir, ModelShape shape) {
        Map<String, SafeTensorsFiles.Tensor> out = new LinkedHashMap<>();
        try (ModelWeights w = ModelWeights.open(dir)) {
            for (Map.Entry<String, long[]> e : TrainableLlama.parameterShapes(shape).entrySet()) {
                out.put(e.getKey(), new SafeTensorsFiles.Tensor(e.getValue(), w.floats(e.getKey(), e.getValue())));
            }
        }
        return out;
    }

    private void loadCheckpoint() {
        if (config.checkpointDir() == null) {
            return;
        }
        List<DrafterCheckpoints.Checkpoint> found = DrafterCheckpoints.list(config.checkpointDir());
        for (DrafterCheckpoints.Checkpoint c : found) {
            nextVersion = Math.max(nextVersion, c.version() + 1);
        }
        for (DrafterCheckpoints.Checkpoint c : found) {
            String base = c.info().has("base_fingerprint") ? c.info().get("base_fingerprint").getAsString() : "";
            if (!fingerprint.equals(base)) {
                log.warn("Adaptive drafter: ignoring checkpoint {}: it was made from another drafter", c.dir());
                continue;
            }
            try {
                Map<String, SafeTensorsFiles.Tensor> weights = readWeights(c.dir(), shape);
                CausalLm model = factory.apply(weights);
                int basedOn = c.info().has("based_on") ? c.info().get("based_on").getAsInt() : -1;
                VersionStats stats = new VersionStats(c.version(), basedOn, Instant.now());
                if (c.info().has("held_out_match_rate")) {
                    stats.heldOutMatch = c.info().get("held_out_match_rate").getAsDouble();
                    stats.heldOutExpected = c.info().get("held_out_expected_acceptance").getAsDouble();
                }
                swap(new Version(name, c.version(), model, true, weights, stats));
                log.info("Adaptive drafter: loaded version {} from {}", c.version(), c.dir());
                return;
            } catch (RuntimeException e) {
                log.warn("Adaptive drafter: cannot load checkpoint {} ({}); trying an older one", c.dir(),
                        e.toString());
            }
        }
    }

    /** Starts the background trainer (a daemon thread); no-op when adaptation is disabled or it already runs. */
    public synchronized AdaptiveDrafter start() {
        if (!config.enabled() || scheduler != null || closed) {
            return this;
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
        return this;
    }

    private void tick() {
        try {
            if (paused || closed || buffer.collected() - lastUpdateCollected < config.minNewExamples()) {
                return;
            }
            update();
        } catch (Throwable t) {
            // update() counts its own failures; this only keeps the schedule alive.
            log.warn("Adaptive drafter: trainer tick failed", t);
        }
    }

    /** Stops the background trainer between steps (an update under way is discarded); serving is unaffected. */
    public void pause() {
        paused = true;
    }

    public void resume() {
        paused = false;
    }

    public boolean paused() {
        return paused;
    }

    // ---------------------------------------------------------------- Drafter

    @Override
    public String name() {
        return name;
    }

    @Override
    public DraftSession open(DraftContext context) {
        Version v = acquire();
        try {
            return new Session(v, v.drafter.open(context));
        } catch (RuntimeException e) {
            v.release();
            throw e;
        }
    }

    /** The serving version, with a reference held for the caller (release it). */
    private Version acquire() {
        while (true) {
            Version v = current.get();
            if (v.retain()) {
                return v;
            }
        }
    }

    /** A session on one version; closing it releases the version. */
    private static final class Session implements DraftSession {
        private final Version version;
        private final DraftSession delegate;
        private boolean closed;

        Session(Version version, DraftSession delegate) {
            this.version = version;
            this.delegate = delegate;
        }

        @Override
        public void prefill() {
            delegate.prefill();
        }

        @Override
        public Draft propose(int maxTokens, DraftGate gate) {
            return delegate.propose(maxTokens, gate);
        }

        @Override
        public void accepted(int acceptedCount, int nextToken) {
            delegate.accepted(acceptedCount, nextToken);
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                try {
                    delegate.close();
                } finally {
                    version.release();
                }
            }
        }
    }

    // ---------------------------------------------------------------- VerificationObserver

    @Override
    public Trace open(int[] promptIds, DraftSession session) {
        if (closed || !config.enabled()) {
            return null;
        }
        VersionStats stats = session instanceof Session s ? s.version.stats : null;
        if (stats != null) {
            stats.requests.incrementAndGet();
        }
        RequestRecorder recorder = new RequestRecorder(requestIds.getAndIncrement(), promptIds, config.topK(),
                config.windowTokens(), 4 * config.windowTokens(), readableVocab);
        return new Trace() {
            @Override
            public void token(float[] logits, int token) {
                recorder.token(logits, token);
            }

            @Override
            public void step(int drafted, int acceptedTokens) {
                if (stats != null) {
                    stats.drafted.addAndGet(drafted);
                    stats.accepted.addAndGet(acceptedTokens);
                }
            }

            @Override
            public void close(FinishReason reason) {
                if (reason != null && !closed) {
                    buffer.add(recorder.examples());
                }
            }
        };
    }

    // ---------------------------------------------------------------- training

    /** The outcome of one update. */
    public enum Outcome { ACCEPTED, REJECTED, SKIPPED, FAILED }

    /**
     * One update's figures.
     *
     * @param version          the serving version afterwards
     * @param loss             mean training loss over the update's steps (NaN if none ran)
     * @param servingScore     the serving version's greedy acceptance on the held-out slice
     * @param candidateScore   the candidate's
     * @param heldOutPositions labelled positions in the held-out slice
     * @param message          why it was skipped, or what failed
     */
    public record UpdateResult(Outcome outcome, int version, int steps, float loss, double servingScore,
                               double candidateScore, double servingExpected, double candidateExpected,
                               long heldOutPositions, String message) {
    }

    /** Runs one update now, in the calling thread ({@code stepsPerUpdate} steps); waits for one under way. */
    public UpdateResult update() {
        return update(config.stepsPerUpdate());
    }

    /**
     * Runs one update of {@code steps} training steps now, in the calling thread (tests, the CLI): train a copy,
     * evaluate, swap or discard. Waits while another update runs. Never throws: a failure is counted and returned.
     */
    public UpdateResult update(int steps) {
        updateLock.lock();
        try {
            return doUpdate(steps);
        } catch (InterruptedException e) {
            tunerVersion = -1;
            return result(Outcome.SKIPPED, 0, Float.NaN, null, null, 0, "stopped (paused or closing)");
        } catch (RuntimeException | LinkageError | OutOfMemoryError e) {
            tunerVersion = -1;
            failures.incrementAndGet();
            lastError = e.toString();
            log.warn("Adaptive drafter: update failed; serving goes on with version {}", current.get().number, e);
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
        Version cur = acquire();
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
            Throttle throttle = new Throttle(config.maxComputeShare(), () -> closed || paused);
            if (tuner == null) {
                tuner = new DrafterFineTuner(shape, cur.weights, config);
            } else if (tunerVersion != cur.number) {
                // The last candidate was discarded (or an update failed): start again from the serving weights.
                tuner.reset(cur.weights);
            }
            // Until a candidate is accepted the tuner holds weights that serve nowhere.
            tunerVersion = -1;
            double lossSum = 0;
            for (int i = 0; i < steps; i++) {
                long t0 = System.nanoTime();
                float loss = tuner.step(buffer.sample(config.batchSize(), random), config.learningRate());
                lossSum += loss;
                lastLoss = loss;
                trainingSteps.incrementAndGet();
                throttle.worked(System.nanoTime() - t0);
            }
            float meanLoss = (float) (lossSum / steps);
            lastUpdateCollected = collectedAtStart;
            Map<String, SafeTensorsFiles.Tensor> weights = tuner.weights();
            CausalLm candidate = factory.apply(weights);
            boolean kept = false;
            try {
                AcceptanceEvaluator.Score serving = AcceptanceEvaluator.evaluate(cur.model, held, targetVocab, throttle);
                AcceptanceEvaluator.Score cand = AcceptanceEvaluator.evaluate(candidate, held, targetVocab, throttle);
                cur.stats.heldOutMatch = serving.matchRate();
                cur.stats.heldOutExpected = serving.expectedAcceptance();
                if (!cand.atLeast(serving)) {
                    rejected.incrementAndGet();
                    log.info("Adaptive drafter: candidate discarded (held-out acceptance {} < {} of version {})",
                            fmt(cand.matchRate()), fmt(serving.matchRate()), cur.number);
                    return result(Outcome.REJECTED, steps, meanLoss, serving, cand, heldPositions, null);
                }
                int number;
                synchronized (this) {
                    number = nextVersion++;
                }
                VersionStats stats = new VersionStats(number, cur.number, Instant.now());
                stats.heldOutMatch = cand.matchRate();
                stats.heldOutExpected = cand.expectedAcceptance();
                Version next = new Version(name, number, candidate, true, weights, stats);
                kept = true;
                checkpoint(next, cur.number);
                swap(next);
                tunerVersion = number;
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

    private JsonObject info(Version v) {
        JsonObject info = new JsonObject();
        info.addProperty("version", v.number);
        info.addProperty("base_drafter", name);
        info.addProperty("base_fingerprint", fingerprint);
        info.addProperty("based_on", v.stats.basedOn);
        info.addProperty("created", v.stats.created.toString());
        info.addProperty("held_out_match_rate", v.stats.heldOutMatch);
        info.addProperty("held_out_expected_acceptance", v.stats.heldOutExpected);
        info.addProperty("training_steps", trainingSteps.get());
        info.addProperty("examples_collected", buffer.collected());
        info.addProperty("loss", config.loss().name().toLowerCase(java.util.Locale.ROOT));
        return info;
    }

    /**
     * Writes the serving version as a drafter folder in the Hugging Face layout (what {@code specula distill
     * --prompts} produces); returns its version number.
     */
    public int export(Path dir) {
        updateLock.lock();
        try {
            Version v = current.get();
            DrafterCheckpoints.export(dir, baseDir, v.weights, info(v));
            return v.number;
        } finally {
            updateLock.unlock();
        }
    }

    private void checkpoint(Version v, int basedOn) {
        if (config.checkpointDir() == null) {
            return;
        }
        try {
            DrafterCheckpoints.write(config.checkpointDir(), v.number, baseDir, v.weights, info(v),
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
        return new UpdateResult(o, current.get().number, steps, loss,
                serving == null ? Double.NaN : serving.matchRate(), cand == null ? Double.NaN : cand.matchRate(),
                serving == null ? Double.NaN : serving.expectedAcceptance(),
                cand == null ? Double.NaN : cand.expectedAcceptance(), heldPositions, message);
    }

    private void install(Version v) {
        current.set(v);
        synchronized (history) {
            history.addFirst(v.stats);
            while (history.size() > VERSIONS_LISTED) {
                history.removeLast();
            }
        }
    }

    /** Makes {@code next} the serving version; the old one closes when its last request ends. */
    private void swap(Version next) {
        Version old = current.get();
        install(next);
        old.weights = null;
        old.release();
        for (IntConsumer l : versionListeners) {
            try {
                l.accept(next.number);
            } catch (RuntimeException ignored) {
                // A listener must not undo a swap.
            }
        }
    }

    private static String fmt(double v) {
        return String.format(java.util.Locale.ROOT, "%.4f", v);
    }

    // ---------------------------------------------------------------- status

    /** Called with the new version number after each swap (on the trainer's thread: keep it short). */
    public void addVersionListener(IntConsumer listener) {
        versionListeners.add(listener);
    }

    public AdaptiveConfig config() {
        return config;
    }

    /** The serving version's number (0: the drafter as loaded). */
    public int version() {
        return current.get().number;
    }

    /** The serving version's live acceptance rate, accepted / drafted tokens (NaN before its first draft). */
    public double currentAcceptanceRate() {
        VersionStats s = current.get().stats;
        long d = s.drafted.get();
        return d == 0 ? Double.NaN : (double) s.accepted.get() / d;
    }

    /** The example buffer (read-only use: sizes and counts). */
    public ExampleBuffer buffer() {
        return buffer;
    }

    public long trainingSteps() {
        return trainingSteps.get();
    }

    public float lastLoss() {
        return lastLoss;
    }

    public long updatesAccepted() {
        return accepted.get();
    }

    public long updatesRejected() {
        return rejected.get();
    }

    public long failures() {
        return failures.get();
    }

    /** The serving version's weights (a copy of the map; the arrays are shared and never modified). */
    public Map<String, SafeTensorsFiles.Tensor> servingWeights() {
        while (true) {
            Map<String, SafeTensorsFiles.Tensor> w = current.get().weights;
            if (w != null) {
                return new LinkedHashMap<>(w);
            }
        }
    }

    public AdaptationStatus status() {
        int serving = current.get().number;
        List<AdaptationStatus.VersionStatus> versions = new ArrayList<>();
        synchronized (history) {
            for (VersionStats s : history) {
                versions.add(new AdaptationStatus.VersionStatus(s.number, s.basedOn, s.created, s.number == serving,
                        s.heldOutMatch, s.heldOutExpected, s.requests.get(), s.drafted.get(), s.accepted.get()));
            }
        }
        return new AdaptationStatus(config.enabled(), paused, serving, buffer.collected(),
                buffer.collectedPositions(), buffer.requests(), buffer.trainingSize(), buffer.heldOutSize(),
                buffer.heldOutPositions(), trainingSteps.get(), lastLoss, accepted.get(), rejected.get(),
                failures.get(), lastError, lastUpdate, versions);
    }

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
        current.get().release();
    }

    // ---------------------------------------------------------------- versions

    /** Figures of one version, kept after the version itself is gone. */
    private static final class VersionStats {
        final int number;
        final int basedOn;
        final Instant created;
        final AtomicLong requests = new AtomicLong();
        final AtomicLong drafted = new AtomicLong();
        final AtomicLong accepted = new AtomicLong();
        volatile double heldOutMatch = Double.NaN;
        volatile double heldOutExpected = Double.NaN;

        VersionStats(int number, int basedOn, Instant created) {
            this.number = number;
            this.basedOn = basedOn;
            this.created = created;
        }
    }

    /** A serving drafter version: its model, reference-counted by the engine (1) and each open session. */
    private static final class Version {
        final int number;
        final CausalLm model;
        final boolean owned;
        final ModelDrafter drafter;
        final VersionStats stats;
        volatile Map<String, SafeTensorsFiles.Tensor> weights;
        private final AtomicInteger refs = new AtomicInteger(1);

        Version(String name, int number, CausalLm model, boolean owned,
                Map<String, SafeTensorsFiles.Tensor> weights, VersionStats stats) {
            this.number = number;
            this.model = model;
            this.owned = owned;
            this.weights = weights;
            this.stats = stats;
            this.drafter = new ModelDrafter(name, model);
        }

        boolean retain() {
            while (true) {
                int r = refs.get();
                if (r == 0) {
                    return false;
                }
                if (refs.compareAndSet(r, r + 1)) {
                    return true;
                }
            }
        }

        void release() {
            if (refs.decrementAndGet() == 0 && owned) {
                model.close();
            }
        }
    }
}
