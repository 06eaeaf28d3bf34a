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
import io.specula.model.JavaKernelModel;
import io.specula.model.PyTorchEngine;
import io.specula.model.Quantization;
import io.specula.generate.PrefillChunking;
import io.specula.model.CausalLm;
import io.specula.speculative.SpeculativeGenerator;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.NgramDrafter;
import io.specula.speculative.drafter.VocabularyCheck;
import io.specula.speculative.policy.AdaptiveSnapshot;
import io.specula.speculative.policy.DraftLengthPolicy;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.speculative.stats.SpeculationStatistics;
import io.specula.tokenizer.ToolCallFormat;
import io.specula.tokenizer.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The engine facade: a loaded target (and optional drafter) with its tokenizer, serving generation requests.
 * Thread-safe; one instance per application.
 *
 * <p>Under load, requests run on their callers' threads behind an admission queue ({@link ServingLimits}): at most
 * {@code maxConcurrentRequests} decode at once, each with its own KV caches; more wait in a bounded queue for at most
 * the queue timeout, and the rest are refused with an {@link EngineBusyException}. {@link #servingStatus()} reports
 * the load and a heartbeat (time since the slowest request in flight last made progress). {@link #submit} serves a
 * chat request without holding the caller's thread while it waits for a slot (streams).
 *
 * <p>{@link #close()} stops admitting, lets the requests in flight finish for the shutdown grace period, stops the rest
 * at their next decoding step (each ends with a {@link SpeculaException} saying so), and closes the models and
 * tokenizers only once no request uses them.
 *
 * <p>Why over 400 lines: this is the one place where the request path's steps are put in order (validation, a place in
 * the queue, preparation, the KV reservation, admission, decoding, release) for its three entrances ({@link #chat},
 * {@link #submit}, {@link #generate}), and where loading and shutdown order the models' lifetimes around them. Each step
 * is done elsewhere ({@link RequestPreparation}, {@link Admission}, the generators, {@link ModelLoader}); splitting the
 * ordering itself would spread one sequence over several files. It is also the one owner of what serves a request:
 * target updates ({@link #updateTarget}) swap the {@link ServingTarget} that requests take when they start decoding.
 */
public final class SpeculaEngine implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(SpeculaEngine.class);

    /** After the grace period, how long closing waits for the stopped requests to reach their next decoding step. */
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private final EngineConfig config;
    private final LoadedModel drafterModel;     // null unless the drafter is a model
    private final Drafter drafter;              // null when there is no drafter
    private final Tokenizer tokenizer;          // the start-up target's; every target update must keep it
    private final AtomicReference<ServingTarget> serving = new AtomicReference<>();
    private final Object updating = new Object();
    private boolean targetReleased;             // guarded by updating
    private volatile EngineInfo info;
    private final List<Consumer<EngineInfo>> targetListeners = new CopyOnWriteArrayList<>();
    private final CompositeDecodingListener listeners = new CompositeDecodingListener();
    private final SpeculationStatistics statistics = new SpeculationStatistics();
    private final DraftPolicies policies = new DraftPolicies();
    private final AdaptiveDrafter adaptive;     // null unless the drafter adapts (io.specula.adaptive)
    private final BatchScheduler batching;      // null unless requests share forward passes (BatchingConfig)
    private final Admission admission;
    private final ContextWindow context;
    private final RequestPreparation preparation;
    private final long drafterKvBytesPerPosition;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Set when the shutdown grace period has run out: requests still decoding stop at their next step. */
    private volatile boolean stopping;

    private SpeculaEngine(EngineConfig config, LoadedModel target, LoadedModel drafterModel, Drafter drafter,
                          AdaptiveDrafter adaptive, BatchScheduler batching) {
        this.config = config;
        this.batching = batching;
        this.tokenizer = target.tokenizer();
        this.drafterModel = drafterModel;
        this.drafter = drafter;
        this.adaptive = adaptive;
        listeners.add(statistics);
        int context = contextLength(config, target);
        this.context = new ContextWindow(context);
        this.preparation = new RequestPreparation(
                new PromptEncoder(target.tokenizer(), config.parseSpecialTokensInMessages()), this.context,
                config.limits().maxTokensCap(), new StructuredOutput(target.tokenizer()));
        this.admission = new Admission(config.limits());
        this.drafterKvBytesPerPosition = drafterModel == null ? 0 : kvBytesPerPosition(drafterModel);
        this.serving.set(servingTarget(1, target));
        this.info = infoOf(target);
    }

    /**
     * The generators of one target version, on the target model wrapped for chunked prefill; with an adaptive drafter,
     * its examples are tagged with the version. With batching on, requests share the target's passes
     * ({@link BatchScheduler#share} returns the model itself otherwise); a long prompt is chunked before it joins a pass.
     */
    private ServingTarget servingTarget(int version, LoadedModel target) {
        int limit = context.limit();
        CausalLm targetModel = PrefillChunking.wrap(BatchScheduler.share(batching, target.model()),
                config.limits().prefillChunkTokens());
        PlainGenerator plain = new PlainGenerator(targetModel, target.tokenizer(), target.eosIds(), limit, listeners);
        SpeculativeGenerator speculative = drafter == null ? null : new SpeculativeGenerator(targetModel,
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
        return load(config, adaptive, BatchingConfig.OFF);
    }

    /**
     * Loads the models; with {@code batching} on and models on the Java kernels, concurrent requests share their
     * forward passes ({@link BatchScheduler}), target and model drafter alike (an adaptive drafter's models do not).
     */
    public static SpeculaEngine load(EngineConfig config, AdaptiveConfig adaptive, BatchingConfig batching) {
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
        BatchScheduler scheduler = null;
        int chunk = config.limits().prefillChunkTokens();
        try {
            scheduler = BatchScheduler.create(batching, target.model());
            switch (config.drafter().kind()) {
                case NONE -> { }
                case NGRAM -> drafter = new NgramDrafter();
                case MODEL -> {
                    LoadedModel d = loading(Setting.DRAFTER,
                            () -> loadModel(config.drafter().directory(), config, config.drafterQuantization()));
                    drafterModel = d;
                    checking(Setting.DRAFTER, () -> VocabularyCheck.verify(target.name(), target.tokenizer(),
                            target.model().vocabSize(), d.name(), d.tokenizer(), d.model().vocabSize()));
                    drafter = new ModelDrafter(d.name(),
                            PrefillChunking.wrap(BatchScheduler.share(scheduler, d.model()), chunk));
                }
            }
            WarmUp.run(target.model(), contextLength(config, target));
            if (drafterModel != null) {
                WarmUp.run(drafterModel.model(), contextLength(config, drafterModel));
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
                            d.directory(), d.model(), target.model().vocabSize(),
                            m -> PrefillChunking.wrap(m, chunk)));
                    drafter = adaptiveDrafter;
                }
            }
        } catch (RuntimeException e) {
            if (scheduler != null) {
                scheduler.close();
            }
            target.close();
            if (drafterModel != null) {
                drafterModel.close();
            }
            throw e;
        }
        SpeculaEngine engine = new SpeculaEngine(config, target, drafterModel, drafter, adaptiveDrafter, scheduler);
        if (adaptiveDrafter != null) {
            adaptiveDrafter.start();
        }
        log.info("Specula engine ready: target {}, drafter {}, {} kernel, context {}", engine.info.targetName(),
                engine.info.drafterName(), engine.info.kernel(), engine.info.contextLength());
        return engine;
    }

    /** Loaded for the configured context: RoPE tables sized by it, not by the model's max_position_embeddings. */
    private static LoadedModel loadModel(Path dir, EngineConfig config, Quantization quantization) {
        return ModelLoader.load(dir, config.device(), config.dtype(), config.kernel(), quantization,
                config.maxContextTokens());
    }

    /** The longest sequence one request may use: the configured context, at most the model's own. */
    private static int contextLength(EngineConfig config, LoadedModel model) {
        int own = model.config().maxPositionEmbeddings();
        return config.maxContextTokens() > 0 ? Math.min(config.maxContextTokens(), own) : own;
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
        return model.model() instanceof JavaKernelModel m ? m.kernel().name() : "djl";
    }

    // A model that is not on the Java kernels was made by DjlModels (so DJL's engine is there to ask).
    private static String deviceName(LoadedModel model) {
        return model.model() instanceof JavaKernelModel ? "cpu" : DjlModels.deviceName(model.model());
    }

    private static String dtypeName(LoadedModel model) {
        return model.model() instanceof JavaKernelModel ? "float32" : DjlModels.dtypeName(model.model());
    }

    /** Bytes of keys and values one position takes in the model's KV cache (all layers, in its compute dtype). */
    static long kvBytesPerPosition(LoadedModel model) {
        var c = model.config();
        int bytes = model.model() instanceof JavaKernelModel ? Float.BYTES : DjlModels.bytesPerValue(model.model());
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
            if (targetReleased || closed.get()) {
                throw new SpeculaException("target update: the engine is closed");
            }
            ServingTarget old = serving.get();
            LoadedModel next = loading(Setting.TARGET, () -> loadModel(dir, config, config.targetQuantization()));
            ServingTarget fresh;
            try {
                checking(Setting.TARGET, () -> ServingTarget.checkReplacement(old.model, next, context.limit(),
                        drafterModel));
                WarmUp.run(next.model(), contextLength(config, next));
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
            if (batching != null) {
                batching.targetChanged(next.model());
            }
            info = infoOf(next);
            old.release();
            log.info("Specula engine: target version {} serves ({}); version {} finishes the requests in flight",
                    fresh.version, next.name(), old.version);
            for (var listener : targetListeners) {
                try {
                    listener.accept(info);
                } catch (RuntimeException e) {
                    // The new target serves already; a listener (meters, say) failing must not undo or fail that.
                    log.warn("Specula engine: a target listener failed after the update to version {}",
                            fresh.version, e);
                }
            }
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
        Admission.Ticket place = admission.reserve();
        RequestPreparation.Prepared prepared = prepare(request, place, cancelled);
        GenerationRequest generation = prepared.generation();
        Admission.Ticket slot = admission.acquire(place, kvCacheBytes(generation.promptIds().length,
                generation.maxTokens(), prepared.speculation()), generation.cancelled());
        if (slot == null) {
            return cancelledWhileQueued(generation);
        }
        return decode(generation, prepared.speculation(), listener, slot, arrived);
    }

    /**
     * Serves one chat request as {@link #chat} does, without holding a thread while it waits for a slot: on the
     * calling thread the request is validated, takes its place in the admission queue (refused at once, by a thrown
     * {@link EngineBusyException}, when every slot and queue place is taken) and is rendered and encoded; it then waits
     * in the queue without a thread and decodes on {@code executor} once a slot is handed to it. So the queue limit
     * and timeout bound a flood of requests, not the executor's pool, and the executor runs at most as many requests
     * as there are slots.
     *
     * <p>Cancelling the returned future (or {@code cancelled} returning true) ends the request: a queued request
     * leaves the queue at once, a decoding one at its next step.
     *
     * @return the result; fails with an {@link EngineBusyException} when the request waited past the queue timeout
     *         (or found the queue full once prepared), a {@link SpeculaException} when the KV cache is over the budget
     *         or the engine closed while it waited, or whatever decoding threw
     * @throws InvalidRequestException when fields of the request break their rules (all of them are named)
     * @throws EngineBusyException     when every slot and queue place is taken
     * @throws SpeculaException        when the request cannot be served: a prompt that leaves no room in the context,
     *                                 a closed engine
     */
    public CompletableFuture<GenerationResult> submit(ChatRequest request, GenerationListener listener,
                                                      BooleanSupplier cancelled, Executor executor) {
        long arrived = System.nanoTime();
        preparation.validate(request);
        Admission.Ticket place = admission.reserve();
        CompletableFuture<GenerationResult> result = new CompletableFuture<>();
        BooleanSupplier stop = () -> result.isDone() || cancelled.getAsBoolean();
        RequestPreparation.Prepared prepared = prepare(request, place, stop);
        result.whenComplete((r, e) -> {
            // Cancelled by the caller: a request still queued gives its place back now.
            if (result.isCancelled() && admission.withdraw(place, true)) {
                listeners.onRequestFinished(DecodingStats.EMPTY, FinishReason.CANCELLED);
            }
        });
        GenerationRequest generation = prepared.generation();
        CompletableFuture<Admission.Ticket> slot = admission.ready(place,
                kvCacheBytes(generation.promptIds().length, generation.maxTokens(), prepared.speculation()));
        // The slot comes now, or later on the thread that freed it: either way the request decodes on the executor.
        slot.whenComplete((ticket, error) -> {
            if (error != null) {
                decodeWhenAdmitted(slot, prepared, listener, stop, result, arrived);
                return;
            }
            try {
                executor.execute(() -> decodeWhenAdmitted(slot, prepared, listener, stop, result, arrived));
            } catch (RejectedExecutionException e) {
                ticket.close();
                result.completeExceptionally(new SpeculaException("engine: the executor refused to run the request "
                        + "it had admitted (" + e.getMessage() + ")", e));
            }
        });
        return result;
    }

    /** Renders and encodes a request that holds {@code place}; a request that cannot be prepared gives it back. */
    private RequestPreparation.Prepared prepare(ChatRequest request, Admission.Ticket place, BooleanSupplier cancelled) {
        try {
            return preparation.prepare(request, cancelled);
        } catch (RuntimeException | Error e) {
            admission.withdraw(place, false);
            throw e;
        }
    }

    private void decodeWhenAdmitted(CompletableFuture<Admission.Ticket> slot, RequestPreparation.Prepared prepared,
                                    GenerationListener listener, BooleanSupplier stop,
                                    CompletableFuture<GenerationResult> result, long arrived) {
        Admission.Ticket ticket;
        try {
            ticket = slot.join();
        } catch (CompletionException | java.util.concurrent.CancellationException e) {
            result.completeExceptionally(e.getCause() != null ? e.getCause() : e);
            return;
        }
        if (stop.getAsBoolean()) {
            ticket.close();
            result.complete(cancelledWhileQueued(prepared.generation()));
            return;
        }
        try {
            result.complete(decode(prepared.generation(), prepared.speculation(), listener, ticket, arrived));
        } catch (Throwable e) {
            result.completeExceptionally(e);
        }
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
        long arrived = System.nanoTime();
        SpeculationSettings settings = speculation == null ? SpeculationSettings.DEFAULT : speculation;
        Admission.Ticket ticket = admission.acquire(kvCacheBytes(request.promptIds().length, request.maxTokens(),
                settings), request.cancelled());
        if (ticket == null) {
            return cancelledWhileQueued(request);
        }
        return decode(request, settings, listener, ticket, arrived);
    }

    private GenerationResult cancelledWhileQueued(GenerationRequest request) {
        listeners.onRequestFinished(DecodingStats.EMPTY, FinishReason.CANCELLED);
        return new GenerationResult(new int[0], "", FinishReason.CANCELLED, request.promptIds().length,
                DecodingStats.EMPTY);
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

    /**
     * Decodes an admitted request and frees its slot: the last step of {@link #chat}, {@link #submit},
     * {@link #generate}. Measures the request's latency from {@code arrived} (queue time, time to first token) into
     * its result and the listeners.
     */
    private GenerationResult decode(GenerationRequest request, SpeculationSettings speculation,
                                    GenerationListener listener, Admission.Ticket ticket, long arrived) {
        long queueNanos = System.nanoTime() - arrived;
        FirstToken firstToken = new FirstToken(listener);
        GenerationResult decoded = decode(request, speculation, (GenerationListener) firstToken, ticket);
        RequestLatency latency = new RequestLatency(queueNanos, firstToken.at < 0 ? -1 : firstToken.at - arrived);
        listeners.onRequestLatency(latency);
        return decoded.withLatency(latency);
    }

    private GenerationResult decode(GenerationRequest request, SpeculationSettings speculation,
                                    GenerationListener listener, Admission.Ticket ticket) {
        try (ticket) {
            // The request keeps this target to its end, even if an update makes another one serve meanwhile.
            ServingTarget target = acquireTarget();
            try {
                return decode(target, request, speculation, listener, ticket);
            } finally {
                target.release();
            }
        }
    }

    private GenerationResult decode(ServingTarget target, GenerationRequest request, SpeculationSettings speculation,
                                    GenerationListener listener, Admission.Ticket ticket) {
        boolean speculate = target.speculative != null && speculation.enabled();
        // The generators poll the cancel flag once per decoding step: that poll is the request's heartbeat, and
        // where a shutdown past its grace period stops the request.
        GenerationRequest tracked = request.withCancelled(() -> {
            ticket.progress();
            return stopping || request.cancelled().getAsBoolean();
        });
        GenerationResult result;
        if (speculate) {
            DraftLengthPolicy policy = policies.create(speculation.policy(), speculation.draftTokens());
            if (batching != null) {
                policy = batching.withBatchInView(policy, policies.estimates());
            }
            result = target.speculative.generate(tracked, policy, listener);
        } else {
            result = target.plain.generate(tracked, listener);
        }
        if (result.finishReason() == FinishReason.CANCELLED && stopping && !request.cancelled().getAsBoolean()) {
            throw new SpeculaException("engine: shut down while the request was decoding; it was stopped after "
                    + result.completionTokens() + " tokens when the shutdown grace period ("
                    + config.limits().shutdownGracePeriod().toMillis() + " ms, shutdown-grace-period) ran out");
        }
        return result;
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
     * speculating) in the target's cache and, with a model drafter, the drafter's. Sized by the target serving when
     * the request is admitted; a target update between then and the start of its decoding is not counted again.
     */
    long kvCacheBytes(int promptTokens, int maxTokens, SpeculationSettings speculation) {
        ServingTarget target = serving.get();
        boolean speculate = target.speculative != null && speculation.enabled();
        int positions = context.capacity(promptTokens, maxTokens, speculate ? speculation.draftTokens() : 0);
        long caches = positions * (target.kvBytesPerPosition + (speculate ? drafterKvBytesPerPosition : 0));
        // The prompt pass's working memory: one prefill chunk at a time, the target's then the drafter's.
        int chunk = Math.min(promptTokens, config.limits().prefillChunkTokens());
        long working = ForwardMemory.passBytes(target.model, chunk, positions);
        if (speculate && drafterModel != null) {
            working = Math.max(working, ForwardMemory.passBytes(drafterModel, chunk, positions));
        }
        return caches + working;
    }

    /** The load now: requests in flight and queued, KV cache reserved, the heartbeat, refusals so far. */
    public ServingStatus servingStatus() {
        return admission.status();
    }

    /** Registers a statistics listener (Micrometer binding, endpoint aggregation). */
    public void addDecodingListener(DecodingListener listener) {
        listeners.add(listener);
    }

    /**
     * Hears each {@link #updateTarget target update}, after the new target serves, with the engine's new
     * {@link #info()} (so that, say, meters tagged with the target's name follow it). Called on the updating thread,
     * one update at a time; a listener that throws is logged and the update stands.
     */
    public void addTargetListener(Consumer<EngineInfo> listener) {
        targetListeners.add(listener);
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

    /** Continuous batching: shared passes, their sizes and times ({@link BatchingStatus#OFF} when off). */
    public BatchingStatus batchingStatus() {
        return batching == null ? BatchingStatus.OFF : batching.statistics().snapshot(batching.runningRequests());
    }

    /**
     * Stops admitting (queued requests fail), lets the requests in flight finish for the shutdown grace period, then
     * stops the rest at their next decoding step (each ends with a {@link SpeculaException}), and closes the adaptive
     * drafter's trainer, the models and the tokenizers once no request uses them. Were a request still decoding after
     * that ({@link #STOP_TIMEOUT}), the models are left open rather than freed under it (logged): on the DJL path that
     * would be a native use-after-free. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        admission.close();
        Duration grace = config.limits().shutdownGracePeriod();
        boolean idle = admission.awaitIdle(grace);
        if (!idle) {
            log.warn("Specula engine closing: {} requests still in flight after the {} ms shutdown grace period; "
                    + "stopping them at their next decoding step", admission.status().inFlight(), grace.toMillis());
            stopping = true;
            idle = admission.awaitIdle(STOP_TIMEOUT);
        }
        if (batching != null) {
            // After the requests: closing fails whatever still waits for a shared pass.
            batching.close();
        }
        if (adaptive != null) {
            adaptive.close();
        }
        if (!idle) {
            log.error("Specula engine closing: {} requests still in flight {} s after they were told to stop; the "
                    + "models and tokenizers are left open rather than freed while in use", admission.status().inFlight(),
                    STOP_TIMEOUT.toSeconds());
            return;
        }
        synchronized (updating) {
            targetReleased = true;
            serving.get().release();    // no request uses it now; older versions closed with their last request
            tokenizer.close();
        }
        if (drafterModel != null) {
            drafterModel.close();
        }
    }
}
