package io.specula.adaptive;

import com.google.gson.JsonObject;
import io.specula.SpeculaException;
import io.specula.model.CausalLm;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.WeightLoader;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.model.llama.LlamaModel;
import io.specula.model.llama.LlamaWeights;
import io.specula.speculative.VerificationObserver;
import io.specula.speculative.drafter.DraftContext;
import io.specula.speculative.drafter.DraftSession;
import io.specula.speculative.drafter.Drafter;
import io.specula.training.ModelShape;
import io.specula.training.SafeTensorsFiles;
import io.specula.training.TrainableLlama;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntConsumer;
import java.util.function.UnaryOperator;

/**
 * A model drafter that keeps learning from the target while the application serves. The engine sees one object, a
 * {@link Drafter} and a {@link VerificationObserver}; its jobs are done by three parts:
 *
 * <ul>
 *   <li><b>Serve</b> ({@link DrafterVersions}): the serving version and the versions still in use by requests; a
 *       request drafts with the version current at its start, and a new version serves the next request.</li>
 *   <li><b>Collect</b> ({@link TrafficRecorder}): training windows from the target's verified outputs, into a bounded
 *       {@link ExampleBuffer} with a held-out slice.</li>
 *   <li><b>Learn</b> ({@link AdaptationLoop}): fine-tunes a copy in the background, judges it on the held-out slice,
 *       swaps it in only if it scores better by a margin (ties lose), and checkpoints it ({@link DrafterCheckpoints},
 *       {@link CheckpointInfo}); the newest valid checkpoint is loaded at start-up.</li>
 * </ul>
 *
 * <p>Whatever the drafter does, verification keeps the output exactly the target's.
 */
public final class AdaptiveDrafter implements Drafter, VerificationObserver {

    private static final Logger log = LoggerFactory.getLogger(AdaptiveDrafter.class);

    private final AdaptiveConfig config;
    private final String name;
    private final ExampleBuffer buffer;
    private final DrafterVersions versions;
    private final TrafficRecorder recorder;
    private final AdaptationLoop loop;

    private AdaptiveDrafter(AdaptiveConfig config, String name, ExampleBuffer buffer, DrafterVersions versions,
                            TrafficRecorder recorder, AdaptationLoop loop) {
        this.config = config;
        this.name = name;
        this.buffer = buffer;
        this.versions = versions;
        this.recorder = recorder;
        this.loop = loop;
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
        return create(config, name, baseDir, baseModel, targetVocab, UnaryOperator.identity());
    }

    /**
     * As above; every version's model (the base and each adapted one) serves through {@code serving} (the engine's
     * chunked prefill), while training and rebuilding read the models themselves.
     */
    public static AdaptiveDrafter create(AdaptiveConfig config, String name, Path baseDir, CausalLm baseModel,
                                         int targetVocab, UnaryOperator<CausalLm> serving) {
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
        Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factory = factoryFor(mc, baseModel).andThen(serving);
        DrafterVersions versions = new DrafterVersions(new DrafterVersions.Version(name, 0, serving.apply(baseModel),
                false, readWeights(baseDir, shape), new DrafterVersions.VersionStats(0, -1, Instant.now())));
        ExampleBuffer buffer = new ExampleBuffer(config.bufferSize(), config.heldOutFraction());
        TrafficRecorder recorder = new TrafficRecorder(config, buffer, Math.min(targetVocab, baseModel.vocabSize()));
        AdaptationLoop loop = new AdaptationLoop(config, name, baseDir, shape, factory, targetVocab, buffer, versions);
        loadCheckpoint(config, name, shape, factory, loop.fingerprint(), versions);
        return new AdaptiveDrafter(config, name, buffer, versions, recorder, loop);
    }

    /** Builds serving models of the same kind as the loaded drafter (Java kernel, or DJL on the same device). */
    private static Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factoryFor(ModelConfig c, CausalLm base) {
        Path origin = Path.of("adaptive-drafter");
        if (base instanceof LlamaModel m) {
            // new versions get the base's quantization, so a swap does not change what a drafted token costs
            return w -> new LlamaModel(c, LlamaWeights.load(c, new WeightLoader(SafeTensorsFiles.source(origin, w),
                    m.quantization(), false)), m.kernel(), m.ops(), m.maxPositions());
        }
        if (base instanceof DjlLlamaModel m) {
            return w -> DjlLlamaModel.create(c, SafeTensorsFiles.source(origin, w), m.device(), m.dataType(),
                    m.maxPositions());
        }
        throw new SpeculaException("adaptive: the drafter's compute path (" + base.getClass().getSimpleName()
                + ") cannot be rebuilt with new weights");
    }

    static Map<String, SafeTensorsFiles.Tensor> readWeights(Path dir, ModelShape shape) {
        Map<String, SafeTensorsFiles.Tensor> out = new LinkedHashMap<>();
        try (ModelWeights w = ModelWeights.open(dir)) {
            for (Map.Entry<String, long[]> e : TrainableLlama.parameterShapes(shape).entrySet()) {
                out.put(e.getKey(), new SafeTensorsFiles.Tensor(e.getValue(), w.floats(e.getKey(), e.getValue())));
            }
        }
        return out;
    }

    /** Serves the newest checkpoint made from this base drafter, if one loads; older ones are tried in turn. */
    private static void loadCheckpoint(AdaptiveConfig config, String name, ModelShape shape,
                                       Function<Map<String, SafeTensorsFiles.Tensor>, CausalLm> factory,
                                       String fingerprint, DrafterVersions versions) {
        if (config.checkpointDir() == null) {
            return;
        }
        List<DrafterCheckpoints.Checkpoint> found = DrafterCheckpoints.list(config.checkpointDir());
        for (DrafterCheckpoints.Checkpoint c : found) {
            versions.reserveUpTo(c.version());
        }
        for (DrafterCheckpoints.Checkpoint c : found) {
            JsonObject info = c.info();
            String made = CheckpointInfo.baseFingerprint(info);
            if (!fingerprint.equals(made)) {
                log.warn("Adaptive drafter: ignoring checkpoint {}: its base_fingerprint ({}) is not this drafter's "
                        + "({}): it was made from another drafter{}", c.dir(), made.isEmpty() ? "none" : made,
                        fingerprint, made.startsWith(DrafterCheckpoints.FINGERPRINT_SCHEME) ? ""
                                : ", or by an older Specula whose fingerprint did not tell drafters of one shape apart");
                continue;
            }
            try {
                Map<String, SafeTensorsFiles.Tensor> weights = readWeights(c.dir(), shape);
                CausalLm model = factory.apply(weights);
                DrafterVersions.VersionStats stats = new DrafterVersions.VersionStats(c.version(),
                        CheckpointInfo.basedOn(info), Instant.now());
                double[] scores = CheckpointInfo.heldOutScores(info);
                if (scores != null) {
                    stats.heldOutMatch = scores[0];
                    stats.heldOutExpected = scores[1];
                }
                versions.swap(new DrafterVersions.Version(name, c.version(), model, true, weights, stats));
                log.info("Adaptive drafter: loaded version {} from {}", c.version(), c.dir());
                return;
            } catch (RuntimeException e) {
                log.warn("Adaptive drafter: cannot load checkpoint {} ({}); trying an older one", c.dir(),
                        e.toString());
            }
        }
    }

    /** Starts the background trainer (a daemon thread); no-op when adaptation is disabled or it already runs. */
    public AdaptiveDrafter start() {
        loop.start();
        return this;
    }

    /** Stops the background trainer between steps (an update under way is discarded); serving is unaffected. */
    public void pause() {
        loop.pause();
    }

    public void resume() {
        loop.resume();
    }

    public boolean paused() {
        return loop.paused();
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public DraftSession open(DraftContext context) {
        return versions.open(context);
    }

    @Override
    public Trace open(int[] promptIds, DraftSession session) {
        return recorder.open(promptIds, session);
    }

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
        return loop.update(steps);
    }

    /**
     * Writes the serving version as a drafter folder in the Hugging Face layout (what {@code specula distill
     * --prompts} produces); returns its version number.
     */
    public int export(Path dir) {
        return loop.export(dir);
    }

    /**
     * The collector for requests decoded by target version {@code target} (the engine makes one per target version,
     * so every example says which target decided its labels).
     */
    public VerificationObserver observerFor(int target) {
        return (promptIds, session) -> recorder.open(promptIds, session, target);
    }

    /**
     * The engine serves target version {@code target} from now on: the older targets' examples are dropped from the
     * buffer (and not added when their last requests end), so training and judging use the new target's traffic only;
     * an update under way is discarded rather than judged against the old target. See {@link ExampleBuffer}.
     */
    public void targetChanged(int target) {
        buffer.targetChanged(target);
        log.info("Adaptive drafter: the target is now version {}; examples of older targets are dropped", target);
    }

    /**
     * Serves drafter version {@code version} again: 0 is the drafter as loaded, another number one of the checkpoints
     * in {@code checkpoint-dir} (the in-memory copies of replaced versions are not kept). Pause adaptation first if
     * it should stay there: the trainer goes on from the version rolled back to.
     *
     * @throws SpeculaException when the version is unknown (no such checkpoint) or cannot be loaded
     */
    public int rollback(int version) {
        return loop.rollback(version);
    }

    /**
     * Writes the serving version to {@code checkpoint-dir} now (each accepted version already is, as it is made);
     * returns its folder.
     *
     * @throws SpeculaException when no checkpoint directory is configured or the write fails
     */
    public Path checkpoint() {
        return loop.checkpointNow();
    }

    /** Whether an update (training, judging) is under way now. */
    public boolean updating() {
        return loop.updating();
    }

    /** Called with the new version number after each swap (on the trainer's thread: keep it short). */
    public void addVersionListener(IntConsumer listener) {
        versions.addListener(listener);
    }

    public AdaptiveConfig config() {
        return config;
    }

    /** The serving version's number (0: the drafter as loaded). */
    public int version() {
        return versions.serving().number;
    }

    /** The serving version's live acceptance rate, accepted / drafted tokens (NaN before its first draft). */
    public double currentAcceptanceRate() {
        return versions.serving().stats.acceptanceRate();
    }

    /** The example buffer (read-only use: sizes and counts). */
    public ExampleBuffer buffer() {
        return buffer;
    }

    public long trainingSteps() {
        return loop.trainingSteps();
    }

    public float lastLoss() {
        return loop.lastLoss();
    }

    public long updatesAccepted() {
        return loop.updatesAccepted();
    }

    public long updatesRejected() {
        return loop.updatesRejected();
    }

    public long failures() {
        return loop.failures();
    }

    /** The serving version's weights (a copy of the map; the arrays are shared and never modified). */
    public Map<String, SafeTensorsFiles.Tensor> servingWeights() {
        return versions.servingWeights();
    }

    public AdaptationStatus status() {
        return new AdaptationStatus(config.enabled(), loop.paused(), version(), buffer.collected(),
                buffer.collectedPositions(), buffer.requests(), buffer.trainingSize(), buffer.heldOutSize(),
                buffer.heldOutPositions(), loop.trainingSteps(), loop.lastLoss(), loop.updatesAccepted(),
                loop.updatesRejected(), loop.failures(), loop.lastError(), loop.lastUpdate(), versions.statuses(),
                buffer.target(), buffer.dropped());
    }

    @Override
    public void close() {
        recorder.close();
        loop.close();
        versions.close();
    }
}
