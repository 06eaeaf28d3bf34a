package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.adaptive.AdaptiveConfig;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.generate.DecodingListener;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.model.llama.LlamaModel;
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
        LoadedModel target = ModelLoader.load(config.targetDir(), config.device(), config.dtype(), config.kernel());
        LoadedModel drafterModel = null;
        Drafter drafter = null;
        try {
            String d = config.drafter();
            if (d != null && !d.isBlank() && !d.equalsIgnoreCase("none")) {
                if (d.equalsIgnoreCase(EngineConfig.NGRAM)) {
                    drafter = new NgramDrafter();
                } else {
                    drafterModel = ModelLoader.load(Path.of(d), config.device(), config.dtype(), config.kernel());
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
        return model.model() instanceof LlamaModel m ? m.kernel().name() : "djl";
    }

    private static String deviceName(LoadedModel model) {
        return model.model() instanceof DjlLlamaModel m ? m.device().toString() : "cpu";
    }

    private static String dtypeName(LoadedModel model) {
        return model.model() instanceof DjlLlamaModel m ? m.dataType().toString().toLowerCase(java.util.Locale.ROOT)
                : "float32";
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

    /** Whether a drafter is loaded (false: speculation settings are ignored). */
    public boolean hasDrafter() {
        return drafter != null;
    }

    /** Generates; with speculation off (or no drafter) the target decodes alone. Same output either way. */
    public GenerationResult generate(GenerationRequest request, SpeculationSettings speculation,
                                     GenerationListener listener) {
        SpeculationSettings s = speculation == null ? SpeculationSettings.DEFAULT : speculation;
        if (speculative != null && s.enabled()) {
            return speculative.generate(request, policies.create(s), listener);
        }
        return plain.generate(request, listener);
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
        if (adaptive != null) {
            adaptive.close();
        }
        target.close();
        if (drafterModel != null) {
            drafterModel.close();
        }
    }
}
