package io.specula.engine;

import io.specula.EngineBusyException;
import io.specula.FieldErrors;
import io.specula.InvalidRequestException;
import io.specula.SpeculaException;
import io.specula.speculative.SpeculationSettings;
import io.specula.adaptive.AdaptiveConfig;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.engine.EngineLoadException.Setting;
import io.specula.generate.ContextWindow;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.generate.RequestLatency;
import io.specula.generate.TokenSource;
import io.specula.generate.structured.StructuredOutput;
import io.specula.model.PyTorchEngine;
import io.specula.model.Quantization;
import io.specula.model.llama.LlamaModel;
import io.specula.speculative.SpeculativeGenerator;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.NgramDrafter;
import io.specula.speculative.drafter.VocabularyCheck;
import io.specula.speculative.policy.AdaptiveSnapshot;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.speculative.stats.SpeculationStatistics;
import io.specula.tokenizer.ToolCallFormat;
import io.specula.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The engine facade: a loaded target (and optional drafter) with its tokenizer, serving generation requests.
 * Thread-safe; one instance per application.
 *
 * <p>Under load, requests run on their callers' threads behind an admission queue ({@link ServingLimits}): at most
 * {@code maxConcurrentRequests} decode at once, each with its own KV caches; more wait in a bounded queue for at most
 * the queue timeout, and the rest are refused with an {@link EngineBusyException}. {@link #servingStatus()} reports
 * the load and a heartbeat (time since the slowest request in flight last made progress).
 *
 * <p>Why one class of ~500 lines: it is the one owner of a request from messages to tokens and of what serves it
 * (loading, target updates, admission, the choice of generator); each step's rules live in the types it calls
 * ({@link RequestPreparation}, {@link Admission}, {@link ServingTarget}, the generators).
 */
public final class SpeculaEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SpeculaEngine.class);

    private final EngineConfig config;
    private final LoadedModel drafterModel;     // null unless the drafter is a model
    private final Drafter drafter;              // null when there is no drafter
    private final Tokenizer tokenizer;          // the start-up target's; every target update must keep it
    private final AtomicReference<ServingTarget> serving = new AtomicReference<>();
    private final Object updating = new Object();
    private boolean targetReleased;             // guarded by updating
    private volatile EngineInfo info;
    private final CompositeDecodingListener listeners = new CompositeDecodingListener();
    private final SpeculationStatistics statistics = new SpeculationStatistics();
    private final DraftPolicies policies = new DraftPolicies();
    private final AdaptiveDrafter adaptive;     // null unless the drafter adapts (io.specula.adaptive)
    private final Admission admission;
    private final ContextWindow context;
    private final RequestPreparation preparation;
    private final long drafterKvBytesPerPosition;

    private SpeculaEngine(EngineConfig config, LoadedModel target, LoadedModel drafterModel, Drafter drafter,
                          AdaptiveDrafter adaptive) {
        this.config = config;
        this.tokenizer = target.tokenizer();
        this.drafterModel = drafterModel;
        this.drafter = drafter;
        this.adaptive = adaptive;
        listeners.add(statistics);
        int context = config.maxContextTokens() > 0
                ? Math.min(config.maxContextTokens(), target.config().maxPositionEmbeddings())
                : target.config().maxPositionEmbeddings();
        this.context = new ContextWindow(context);
        this.preparation = new RequestPreparation(
                new PromptEncoder(target.tokenizer(), config.parseSpecialTokensInMessages()), this.context,
                config.limits().maxTokensCap(), new StructuredOutput(target.tokenizer()));
        this.admission = new Admission(config.limits());
        this.drafterKvBytesPerPosition = drafterModel == null ? 0 : kvBytesPerPosition(drafterModel);
        this.serving.set(servingTarget(1, target));
        this.info = infoOf(target);
    }

    /** The generators of one target version; with an adaptive drafter, its examples are tagged with the version. */
    private ServingTarget servingTarget(int version, LoadedModel target) {
        int limit = context.limit();
        PlainGenerator plain = new PlainGenerator(target.model(), target.tokenizer(), target.eosIds(), limit,
                listeners);
        SpeculativeGenerator speculative = drafter == null ? null : new SpeculativeGenerator(target.model(),
                target.tokenizer(), target.eosIds(), limit, drafter,
                () -> policies.create(DraftPolicy.DEFAULT, DraftPolicy.DEFAULT_DRAFT_TOKENS), listeners,
                adaptive == null ? null : adaptive.observerFor(version));
        return new ServingTarget(version, target, plain, speculative, tokenizer);
    }

    private EngineInfo infoOf(LoadedModel target) {
        return new EngineInfo(target.name(), drafter == null ? "none" : drafter.name(), deviceName(target),
                dtypeName(target), kernelName(target), context.limit());
    }

    /** Loads the models; fails with an {@link EngineLoadException} naming the file and the setting at fault. */
    public static SpeculaEngine load(EngineConfig config) {
        return load(config, AdaptiveConfig.DISABLED);
    }

    /**
     * Loads the models; with {@code adaptive} enabled and a model drafter, the drafter keeps learning from the
     * target's verified outputs in the background ({@link AdaptiveDrafter}), starting from its newest checkpoint.
     */
    public static SpeculaEngine load(EngineConfig config, AdaptiveConfig adaptive) {
        if (config.targetDir() == null) {
            throw new EngineLoadException(Setting.TARGET, "target: no target model directory was configured");
        }
        // Device and dtype first, so that an error in them is not taken for one of the model files.
        ai.djl.Device device = loading(Setting.DEVICE, () -> DeviceSelection.device(config.device()));
        loading(Setting.DTYPE, () -> DeviceSelection.dataType(config.dtype(), device));
        LoadedModel target = loading(Setting.TARGET,
                () -> loadModel(config.targetDir(), config, config.targetQuantization()));
        LoadedModel drafterModel = null;
        Drafter drafter = null;
        AdaptiveDrafter adaptiveDrafter = null;
        try {
            switch (config.drafter().kind()) {
                case NONE -> { }
                case NGRAM -> drafter = new NgramDrafter();
                case MODEL -> {
                    LoadedModel d = loading(Setting.DRAFTER,
                            () -> loadModel(config.drafter().directory(), config, config.drafterQuantization()));
                    drafterModel = d;
                    checking(Setting.DRAFTER, () -> VocabularyCheck.verify(target.name(), target.tokenizer(),
                            target.model().vocabSize(), d.name(), d.tokenizer(), d.model().vocabSize()));
                    drafter = new ModelDrafter(d.name(), d.model());
                }
            }
            WarmUp.run(target.model());
            if (drafterModel != null) {
                WarmUp.run(drafterModel.model());
            }
            if (adaptive != null && adaptive.enabled()) {
                if (drafterModel == null) {
                    log.warn("Adaptive drafter: enabled, but the drafter is '{}', not a model; nothing to adapt",
                            config.drafter());
                } else {
                    LoadedModel d = drafterModel;
                    // The drafter trains on DJL's PyTorch engine (autograd), an optional dependency.
                    checking(Setting.ADAPTIVE, () -> PyTorchEngine.require("the adaptive drafter (training)"));
                    adaptiveDrafter = loading(Setting.ADAPTIVE, () -> AdaptiveDrafter.create(adaptive, d.name(),
                            d.directory(), d.model(), target.model().vocabSize()));
                    drafter = adaptiveDrafter;
                }
            }
        } catch (RuntimeException e) {
            target.close();
            if (drafterModel != null) {
                drafterModel.close();
            }
            throw e;
        }
        SpeculaEngine engine = new SpeculaEngine(config, target, drafterModel, drafter, adaptiveDrafter);
        if (adaptiveDrafter != null) {
            adaptiveDrafter.start();
        }
        log.info("Specula engine ready: target {}, drafter {}, {} kernel, context {}", engine.info.targetName(),
                engine.info.drafterName(), engine.info.kernel(), engine.info.contextLength());
        return engine;
    }

    private static LoadedModel loadModel(Path dir, EngineConfig config, Quantization quantization) {
        return ModelLoader.load(dir, config.device(), config.dtype(), config.kernel(), quantization);
    }

    /** Runs one step of loading; an error in it is an {@link EngineLoadException} naming the setting at fault. */
    private static <T> T loading(Setting setting, Supplier<T> step) {
        try {
            return step.get();
        } catch (EngineLoadException e) {
            throw e;
        } catch (SpeculaException | UncheckedIOException e) {
            throw new EngineLoadException(setting, e.getMessage(), e);
        }
    }

    private static void checking(Setting setting, Runnable step) {
        loading(setting, () -> {
            step.run();
            return null;
        });
    }

    private static String kernelName(LoadedModel model) {
        return model.model() instanceof LlamaModel m ? m.kernel().name() : "djl";
    }

    // A model that is not on the Java kernels was made by DjlModels (so DJL's engine is there to ask).
    private static String deviceName(LoadedModel model) {
        return model.model() instanceof LlamaModel ? "cpu" : DjlModels.deviceName(model.model());
    }

    private static String dtypeName(LoadedModel model) {
        return model.model() instanceof LlamaModel ? "float32" : DjlModels.dtypeName(model.model());
    }

    /** Bytes of keys and values one position takes in the model's KV cache (all layers, in its compute dtype). */
    static long kvBytesPerPosition(LoadedModel model) {
        var c = model.config();
        int bytes = model.model() instanceof LlamaModel ? Float.BYTES : DjlModels.bytesPerValue(model.model());
        return 2L * c.numLayers() * c.numKvHeads() * c.headDim() * bytes;
    }

    public EngineInfo info() {
        return info;
    }

    public EngineConfig config() {
        return config;
    }

    /** The target's tokenizer (and chat template): the start-up target's, which every target update keeps. */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** How the target writes tool calls (its chat template's format); {@link ToolCallFormat#NONE} without tools. */
    public ToolCallFormat toolCallFormat() {
        return tokenizer.chatTemplate() == null ? ToolCallFormat.NONE : tokenizer.chatTemplate().toolCallFormat();
    }

    /** The serving target model (the newest; requests in flight may still decode on an older one). */
    public LoadedModel target() {
        return serving.get().model;
    }

    /** The serving target's version: 1 as loaded at start-up, one more per {@link #updateTarget}. */
    public int targetVersion() {
        return serving.get().version;
    }

    /**
     * Switches to new target weights without a restart: loads {@code dir} (a model directory or GGUF file, with the
     * engine's device, dtype, kernel and target quantization), checks it against the serving target and the drafter,
     * warms it up and makes it the serving target. Requests in flight finish on the target they started with (its
     * model is closed when the last of them ends); requests that start from now on decode on the new one, so every
     * output is exactly one target's. The adaptive drafter, if any, is told: it stops training on the older
     * targets' examples ({@link AdaptiveDrafter#targetChanged}).
     *
     * <p>The new target must keep the tokenizer (tokenizer.json and tokenizer_config.json, byte for byte: prompts are
     * rendered and encoded with it) and fit the engine's context window; the architecture and size may change.
     * Updates are serialised; serving goes on while one loads.
     *
     * @return the new target version
     * @throws EngineLoadException (setting target) naming what is wrong; the serving target is then unchanged
     */
    public int updateTarget(Path dir) {
        if (dir == null) {
            throw new EngineLoadException(Setting.TARGET, "target update: no model directory or file was given");
        }
        synchronized (updating) {
            if (targetReleased || admission.closed()) {
                throw new SpeculaException("target update: the engine is closed");
            }
            ServingTarget old = serving.get();
            LoadedModel next = loading(Setting.TARGET, () -> loadModel(dir, config, config.targetQuantization()));
            ServingTarget fresh;
            try {
                checking(Setting.TARGET, () -> ServingTarget.checkReplacement(old.model, next, context.limit(),
                        drafterModel));
                WarmUp.run(next.model());
                fresh = servingTarget(old.version + 1, next);
            } catch (RuntimeException e) {
                next.close();
                throw e;
            }
            if (adaptive != null) {
                // Before the swap: examples of the new target must never be taken for an older target's.
                adaptive.targetChanged(fresh.version);
            }
            serving.set(fresh);
            info = infoOf(next);
            old.release();
            log.info("Specula engine: target version {} serves ({}); version {} finishes the requests in flight",
                    fresh.version, next.name(), old.version);
            return fresh.version;
        }
    }

    /** The serving target, referenced for one request (released with {@link ServingTarget#release}). */
    private ServingTarget acquireTarget() {
        while (true) {
            ServingTarget t = serving.get();
            if (t.acquire()) {
                return t;
            }
            if (serving.get() == t) {   // released by close(), not replaced by an update
                throw new SpeculaException("engine: closed; no more requests are served");
            }
        }
    }

    /** The loaded drafter model; {@code null} when the drafter is not a model (none, or n-gram). */
    LoadedModel drafterModel() {
        return drafterModel;
    }

    /** Whether a drafter is loaded (false: speculation settings are ignored). */
    public boolean hasDrafter() {
        return drafter != null;
    }

    /**
     * Serves one chat request, the one path every chat takes: validated once (every field at fault reported
     * together, before any work), refused at once if the admission queue is full, rendered with the chat template and
     * encoded, fitted into the context (an unset token limit becomes the room left, at most the cap), then admitted
     * with its KV cache reserved, and decoded (speculatively when it asks for it and there is a drafter: the same
     * output either way). Deltas go to {@code listener} as they are produced.
     *
     * @param cancelled polled while the request waits for a slot and once per decoding step; true ends it with
     *                  {@link FinishReason#CANCELLED}
     * @throws InvalidRequestException when fields of the request break their rules (all of them are named)
     * @throws EngineBusyException     when the admission queue is full or the wait timed out
     * @throws SpeculaException        when the request cannot be served: a prompt that leaves no room in the context,
     *                                 a KV cache larger than the whole budget, a closed engine
     */
    public GenerationResult chat(ChatRequest request, GenerationListener listener, BooleanSupplier cancelled) {
        long arrived = System.nanoTime();
        preparation.validate(request);
        rejectIfSaturated();
        RequestPreparation.Prepared prepared = preparation.prepare(request, cancelled);
        return run(prepared.generation(), prepared.speculation(), listener, arrived);
    }

    /**
     * Generates from a prompt that is already tokens (benchmarks, tools); with speculation off (or no drafter) the
     * target decodes alone. Same output either way. Admitted and bounded as {@link #chat} is.
     *
     * <p>Waits for a slot first (see {@link ServingLimits}). A request cancelled (or whose thread is interrupted)
     * while it waits ends with {@link FinishReason#CANCELLED} and no output.
     *
     * @throws InvalidRequestException when max tokens is over the cap
     * @throws EngineBusyException     when the admission queue is full or the wait timed out
     * @throws SpeculaException        when the request cannot be served: a prompt that leaves no room in the context,
     *                                 a KV cache larger than the whole budget, a closed engine
     */
    public GenerationResult generate(GenerationRequest request, SpeculationSettings speculation,
                                     GenerationListener listener) {
        FieldErrors errors = new FieldErrors();
        ServingLimits.checkMaxTokens(request.maxTokens(), config.limits().maxTokensCap(), errors);
        errors.throwIfAny();
        return run(request, speculation == null ? SpeculationSettings.DEFAULT : speculation, listener,
                System.nanoTime());
    }

    /**
     * Reserves the request's KV cache, waits for a slot and decodes: the last steps of {@link #chat}. Measures the
     * request's latency from {@code arrived} (queue time, time to first token) into its result and the listeners.
     */
    private GenerationResult run(GenerationRequest request, SpeculationSettings speculation,
                                 GenerationListener listener, long arrived) {
        // The request keeps this target to its end, even if an update makes another one serve meanwhile.
        ServingTarget target = acquireTarget();
        try {
            return run(target, request, speculation, listener, arrived);
        } finally {
            target.release();
        }
    }

    private GenerationResult run(ServingTarget target, GenerationRequest request, SpeculationSettings speculation,
                                 GenerationListener listener, long arrived) {
        boolean speculate = target.speculative != null && speculation.enabled();
        long bytes = kvCacheBytes(target, request.promptIds().length, request.maxTokens(), speculation);
        Admission.Ticket ticket = admission.acquire(bytes, request.cancelled());
        if (ticket == null) {
            listeners.onRequestFinished(DecodingStats.EMPTY, FinishReason.CANCELLED);
            return new GenerationResult(new int[0], "", FinishReason.CANCELLED, request.promptIds().length,
                    DecodingStats.EMPTY);
        }
        long queueNanos = System.nanoTime() - arrived;
        FirstToken firstToken = new FirstToken(listener);
        GenerationResult result = decode(target, ticket, request, speculation, speculate, firstToken);
        RequestLatency latency = new RequestLatency(queueNanos,
                firstToken.at < 0 ? -1 : firstToken.at - arrived);
        listeners.onRequestLatency(latency);
        return result.withLatency(latency);
    }

    /** Passes the deltas on and notes when the first output token came. */
    private static final class FirstToken implements GenerationListener {
        private final GenerationListener next;
        private long at = -1;

        FirstToken(GenerationListener next) {
            this.next = next == null ? GenerationListener.NONE : next;
        }

        @Override
        public void onToken(int tokenId, String textDelta, TokenSource source) {
            if (at < 0 && tokenId >= 0) {
                at = System.nanoTime();
            }
            next.onToken(tokenId, textDelta, source);
        }
    }

    private GenerationResult decode(ServingTarget target, Admission.Ticket ticket, GenerationRequest request,
                                    SpeculationSettings speculation, boolean speculate, GenerationListener listener) {
        try (ticket) {
            // The generators poll the cancel flag once per decoding step: that poll is the request's heartbeat.
            GenerationRequest tracked = request.withCancelled(() -> {
                ticket.progress();
                return request.cancelled().getAsBoolean();
            });
            if (speculate) {
                return target.speculative.generate(tracked,
                        policies.create(speculation.policy(), speculation.draftTokens()), listener);
            }
            return target.plain.generate(tracked, listener);
        }
    }

    /** The largest max tokens a request may ask for; 0 = no cap (the context window). */
    public int maxTokensCap() {
        return config.limits().maxTokensCap();
    }

    /**
     * Throws the {@link EngineBusyException} a request would get now if the admission queue is full: {@link #chat}
     * refuses this way before it renders and tokenizes a prompt. Racy by nature; admission decides.
     */
    void rejectIfSaturated() {
        admission.rejectIfFull();
    }

    /**
     * KV cache bytes a request reserves: its whole sequence (prompt + max tokens, plus one verification pass when
     * speculating) in the target's cache and, with a model drafter, the drafter's.
     */
    long kvCacheBytes(int promptTokens, int maxTokens, SpeculationSettings speculation) {
        return kvCacheBytes(serving.get(), promptTokens, maxTokens, speculation);
    }

    private long kvCacheBytes(ServingTarget target, int promptTokens, int maxTokens, SpeculationSettings speculation) {
        boolean speculate = target.speculative != null && speculation.enabled();
        long positions = context.capacity(promptTokens, maxTokens, speculate ? speculation.draftTokens() : 0);
        return positions * (target.kvBytesPerPosition + (speculate ? drafterKvBytesPerPosition : 0));
    }

    /** The load now: requests in flight and queued, KV cache reserved, the heartbeat, refusals so far. */
    public ServingStatus servingStatus() {
        return admission.status();
    }

    /** Registers a statistics listener (Micrometer binding, endpoint aggregation). */
    public void addDecodingListener(DecodingListener listener) {
        listeners.add(listener);
    }

    /** The adaptive drafter, when the drafter adapts to the traffic. */
    public Optional<AdaptiveDrafter> adaptive() {
        return Optional.ofNullable(adaptive);
    }

    /**
     * The engine's one count of speculative decoding since start-up (cumulative and recent figures): what the meters
     * and the Actuator endpoint read. Each response's own figures are in its {@link GenerationResult#stats()}.
     */
    public SpeculationStatistics statistics() {
        return statistics;
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
        synchronized (updating) {
            if (!targetReleased) {
                targetReleased = true;
                serving.get().release();    // closed now, or when the last request in flight ends
                tokenizer.close();
            }
        }
        if (drafterModel != null) {
            drafterModel.close();
        }
    }
}
