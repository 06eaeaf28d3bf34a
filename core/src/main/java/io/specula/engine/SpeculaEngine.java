package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.adaptive.AdaptiveConfig;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.model.JavaKernelModel;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.speculative.SpeculativeGenerator;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.NgramDrafter;
import io.specula.speculative.drafter.VocabularyCheck;
import io.specula.speculative.policy.AdaptiveSnapshot;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.stats.SpeculationSnapshot;
import io.specula.speculative.stats.SpeculationStatistics;
import io.specula.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Optional;

/**
 * The engine facade: a loaded target (and optional drafter) with its tokenizer, serving generation requests.
 * Thread-safe; one instance per application.
 *
 * <p>Under load, requests run on their callers' threads behind an admission queue ({@link ServingLimits}): at most
 * {@code maxConcurrentRequests} decode at once, each with its own KV caches; more wait in a bounded queue for at most
 * the queue timeout, and the rest are refused with an {@link EngineBusyException}. {@link #servingStatus()} reports
 * the load and a heartbeat (time since the slowest request in flight last made progress).
 */
public final class SpeculaEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SpeculaEngine.class);

    private final EngineConfig config;
    private final LoadedModel target;
    private final LoadedModel drafterModel;     // null unless the drafter is a model
    private final Drafter drafter;              // null when there is no drafter
    private final EngineInfo info;
    private final CompositeDecodingListener listeners = new CompositeDecodingListener();
    private final SpeculationStatistics statistics = new SpeculationStatistics();
    private final DraftPolicies policies = new DraftPolicies();
    private final PlainGenerator plain;
    private final SpeculativeGenerator speculative;
    private final AdaptiveDrafter adaptive;     // null unless the drafter adapts (io.specula.adaptive)
    private final Admission admission;
    private final int contextLimit;
    private final long targetKvBytesPerPosition;
    private final long drafterKvBytesPerPosition;

    private SpeculaEngine(EngineConfig config, LoadedModel target, LoadedModel drafterModel, Drafter drafter,
                          AdaptiveDrafter adaptive) {
        this.config = config;
        this.target = target;
        this.drafterModel = drafterModel;
        this.drafter = drafter;
        this.adaptive = adaptive;
        listeners.add(statistics);
        int context = config.maxContextTokens() > 0
                ? Math.min(config.maxContextTokens(), target.config().maxPositionEmbeddings())
                : target.config().maxPositionEmbeddings();
        this.contextLimit = context;
        this.admission = new Admission(config.limits());
        this.targetKvBytesPerPosition = kvBytesPerPosition(target);
        this.drafterKvBytesPerPosition = drafterModel == null ? 0 : kvBytesPerPosition(drafterModel);
        this.plain = new PlainGenerator(target.model(), target.tokenizer(), target.eosIds(), context, listeners);
        this.speculative = drafter == null ? null : new SpeculativeGenerator(target.model(), target.tokenizer(),
                target.eosIds(), context, drafter, () -> policies.create(SpeculationSettings.DEFAULT), listeners,
                adaptive);
        this.info = new EngineInfo(target.name(), drafter == null ? "none" : drafter.name(), deviceName(target),
                dtypeName(target), kernelName(target), context);
    }

    /** Loads the models; fails with a {@link SpeculaException} naming the file when one is bad. */
    public static SpeculaEngine load(EngineConfig config) {
        return load(config, AdaptiveConfig.DISABLED);
    }

    /**
     * Loads the models; with {@code adaptive} enabled and a model drafter, the drafter keeps learning from the
     * target's verified outputs in the background ({@link AdaptiveDrafter}), starting from its newest checkpoint.
     */
    public static SpeculaEngine load(EngineConfig config, AdaptiveConfig adaptive) {
        if (config.targetDir() == null) {
            throw new SpeculaException("target: no target model directory was configured");
        }
        LoadedModel target = ModelLoader.load(config.targetDir(), config.device(), config.dtype(), config.kernel(),
                config.targetQuantization());
        LoadedModel drafterModel = null;
        Drafter drafter = null;
        try {
            String d = config.drafter();
            if (d != null && !d.isBlank() && !d.equalsIgnoreCase("none")) {
                if (d.equalsIgnoreCase(EngineConfig.NGRAM)) {
                    drafter = new NgramDrafter();
                } else {
                    drafterModel = ModelLoader.load(Path.of(d), config.device(), config.dtype(), config.kernel(),
                            config.drafterQuantization());
                    VocabularyCheck.verify(target.name(), target.tokenizer(), target.model().vocabSize(),
                            drafterModel.name(), drafterModel.tokenizer(), drafterModel.model().vocabSize());
                    drafter = new ModelDrafter(drafterModel.name(), drafterModel.model());
                }
            }
        } catch (RuntimeException e) {
            target.close();
            if (drafterModel != null) {
                drafterModel.close();
            }
            throw e;
        }
        WarmUp.run(target.model());
        if (drafterModel != null) {
            WarmUp.run(drafterModel.model());
        }
        AdaptiveDrafter adaptiveDrafter = null;
        if (adaptive != null && adaptive.enabled()) {
            if (drafterModel == null) {
                log.warn("Adaptive drafter: enabled, but the drafter is '{}', not a model; nothing to adapt",
                        config.drafter());
            } else {
                try {
                    adaptiveDrafter = AdaptiveDrafter.create(adaptive, drafterModel.name(), drafterModel.directory(),
                            drafterModel.model(), target.model().vocabSize());
                    drafter = adaptiveDrafter;
                } catch (RuntimeException e) {
                    target.close();
                    drafterModel.close();
                    throw e;
                }
            }
        }
        SpeculaEngine engine = new SpeculaEngine(config, target, drafterModel, drafter, adaptiveDrafter);
        if (adaptiveDrafter != null) {
            adaptiveDrafter.start();
        }
        log.info("Specula engine ready: target {}, drafter {}, {} kernel, context {}", engine.info.targetName(),
                engine.info.drafterName(), engine.info.kernel(), engine.info.contextLength());
        return engine;
    }

    private static String kernelName(LoadedModel model) {
        return model.model() instanceof JavaKernelModel m ? m.kernel().name() : "djl";
    }

    private static String deviceName(LoadedModel model) {
        return model.model() instanceof DjlLlamaModel m ? m.device().toString() : "cpu";
    }

    private static String dtypeName(LoadedModel model) {
        return model.model() instanceof DjlLlamaModel m ? m.dataType().toString().toLowerCase(java.util.Locale.ROOT)
                : "float32";
    }

    /** Bytes of keys and values one position takes in the model's KV cache (all layers, in its compute dtype). */
    static long kvBytesPerPosition(LoadedModel model) {
        var c = model.config();
        int bytes = model.model() instanceof DjlLlamaModel m ? m.dataType().getNumOfBytes() : Float.BYTES;
        return 2L * c.numLayers() * c.numKvHeads() * c.headDim() * bytes;
    }

    public EngineInfo info() {
        return info;
    }

    public EngineConfig config() {
        return config;
    }

    /** The target's tokenizer (and chat template). */
    public Tokenizer tokenizer() {
        return target.tokenizer();
    }

    /** The loaded target model. */
    public LoadedModel target() {
        return target;
    }

    /** The loaded drafter model; {@code null} when the drafter is not a model (none, or n-gram). */
    LoadedModel drafterModel() {
        return drafterModel;
    }

    /** Whether a drafter is loaded (false: speculation settings are ignored). */
    public boolean hasDrafter() {
        return drafter != null;
    }

    /** Generates; with speculation off (or no drafter) the target decodes alone. Same output either way. */
    /**
     * Generates; with speculation off (or no drafter) the target decodes alone. Same output either way.
     *
     * <p>Waits for a slot first (see {@link ServingLimits}). A request cancelled (or whose thread is interrupted)
     * while it waits ends with {@link FinishReason#CANCELLED} and no output.
     *
     * @throws EngineBusyException when the admission queue is full or the wait timed out
     * @throws SpeculaException    when the request cannot be served: max tokens over the cap, a prompt that leaves no
     *                             room in the context, a KV cache larger than the whole budget, a closed engine
     */
    public GenerationResult generate(GenerationRequest request, SpeculationSettings speculation,
                                     GenerationListener listener) {
        SpeculationSettings s = speculation == null ? SpeculationSettings.DEFAULT : speculation;
        boolean speculate = speculative != null && s.enabled();
        int cap = config.limits().maxTokensCap();
        if (cap > 0 && request.maxTokens() > cap) {
            throw new SpeculaException("maxTokens: " + request.maxTokens() + " is more than the configured cap of "
                    + cap + " (max-tokens-cap)");
        }
        int capacity = PlainGenerator.checkedCapacity(request.promptIds().length, request.maxTokens(),
                speculate ? s.draftTokens() : 0, contextLimit);
        long bytes = capacity * (targetKvBytesPerPosition + (speculate ? drafterKvBytesPerPosition : 0));
        Admission.Ticket ticket = admission.acquire(bytes, request.cancelled());
        if (ticket == null) {
            listeners.onRequestFinished(DecodingStats.EMPTY, FinishReason.CANCELLED);
            return new GenerationResult(new int[0], "", FinishReason.CANCELLED, request.promptIds().length,
                    DecodingStats.EMPTY);
        }
        try (ticket) {
            // The generators poll the cancel flag once per decoding step: that poll is the request's heartbeat.
            GenerationRequest tracked = request.withCancelled(() -> {
                ticket.progress();
                return request.cancelled().getAsBoolean();
            });
            if (speculate) {
                return speculative.generate(tracked, policies.create(s), listener);
            }
            return plain.generate(tracked, listener);
        }
    }

    /**
     * Throws the {@link EngineBusyException} a request would get now if the admission queue is full, so that a caller
     * can refuse before it renders and tokenizes a prompt. {@link #generate} still decides.
     */
    public void rejectIfSaturated() {
        admission.rejectIfFull();
    }

    /** The largest max tokens a request may ask for; 0 = no cap (the context window). */
    public int maxTokensCap() {
        return config.limits().maxTokensCap();
    }

    /** The load now: requests in flight and queued, KV cache reserved, the heartbeat, refusals so far. */
    public ServingStatus servingStatus() {
        return admission.status();
    }

    /**
     * KV cache bytes a request reserves: its whole sequence (prompt + max tokens, plus one verification pass when
     * speculating) in the target's cache and, with a model drafter, the drafter's.
     */
    public long kvCacheBytes(int promptTokens, int maxTokens, SpeculationSettings speculation) {
        boolean speculate = speculative != null && speculation != null && speculation.enabled();
        long positions = Math.min((long) promptTokens + maxTokens + (speculate ? speculation.draftTokens() : 0),
                contextLimit);
        return positions * (targetKvBytesPerPosition + (speculate ? drafterKvBytesPerPosition : 0));
    }

    /** Registers a statistics listener (Micrometer binding, endpoint aggregation). */
    public void addDecodingListener(DecodingListener listener) {
        listeners.add(listener);
    }

    /** The adaptive drafter, when the drafter adapts to the traffic. */
    public Optional<AdaptiveDrafter> adaptive() {
        return Optional.ofNullable(adaptive);
    }

    /** Cumulative and recent speculative statistics since start-up. */
    public SpeculationSnapshot statistics() {
        return statistics.snapshot();
    }

    /** The adaptive draft policy's current estimates (acceptance by position, pass costs, chosen draft lengths). */
    public AdaptiveSnapshot policyEstimates() {
        return policies.estimates().snapshot();
    }

    @Override
    public void close() {
        admission.close();
        if (adaptive != null) {
            adaptive.close();
        }
        target.close();
        if (drafterModel != null) {
            drafterModel.close();
        }
    }
}
