package io.specula.autoconfigure;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import io.specula.InvalidRequestException;
import io.specula.SpeculaException;
import io.specula.engine.DrafterChoice;
import io.specula.engine.EngineConfig;
import io.specula.engine.ServingLimits;
import io.specula.gguf.GgufFile;
import io.specula.gguf.OllamaModels;
import io.specula.model.Quantization;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.util.unit.DataSize;
import org.springframework.util.StringUtils;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * What the Specula engine loads and where it runs ({@code spring.ai.specula.*}). The defaults of chat requests are
 * under {@code spring.ai.specula.chat.*} ({@link SpeculaChatProperties}).
 *
 * <p>
 * Values are checked when they are bound (a bad value fails start-up naming the property); the model directories are
 * checked when the engine is created. Unknown keys under {@code spring.ai.specula} (a misspelt property) fail
 * start-up too, naming the key.
 *
 * <p>Why one class of ~400 lines: it is the {@code spring.ai.specula.*} namespace as users read it in the metadata, one
 * field per property with its javadoc; the rules themselves live in the engine's types, which it only builds.
 */
@ConfigurationProperties(prefix = SpeculaEngineProperties.CONFIG_PREFIX, ignoreUnknownFields = false)
public class SpeculaEngineProperties implements Validator {

    public static final String CONFIG_PREFIX = "spring.ai.specula";

    static final Set<String> DTYPES = Set.of("auto", "float32", "float16");

    private static final Pattern DEVICE = Pattern.compile("cpu|auto|cuda(:\\d+)?");

    /**
     * The target model: the model that answers. A directory in Hugging Face layout (config.json, tokenizer.json,
     * tokenizer_config.json, *.safetensors), a GGUF file (as llama.cpp and LM Studio use), or a model Ollama has pulled,
     * as "ollama:NAME[:TAG]" (e.g. "ollama:qwen2.5:0.5b"). Required.
     */
    private @Nullable String target;

    /**
     * The drafter that proposes tokens for the target to verify: a small model sharing the target's tokenizer (a
     * directory, a GGUF file or "ollama:NAME[:TAG]", as for the target), "ngram" for prompt-lookup drafting (no second
     * model), or empty for none (the target decodes alone).
     */
    private @Nullable String drafter;

    /**
     * The folder Ollama keeps its models in (manifests/ and blobs/), for "ollama:" model names; by default the
     * environment variable OLLAMA_MODELS as Ollama reads it, else ~/.ollama/models.
     */
    private @Nullable Path ollamaModels;

    /** Where the models run: "cpu", "cuda", "cuda:N" (the N-th GPU) or "auto" (a GPU when there is one). */
    private String device = "cpu";

    /**
     * Compute dtype: "auto" (the model's own dtype where the device supports it; on the CPU, F16 and BF16 weights stay
     * 16-bit), "float32" (on the CPU: weights widened to float32) or "float16" (CUDA).
     */
    private String dtype = "auto";

    /**
     * How the target's weights are stored for the CPU kernels: "none" (as the checkpoint stores them: F16/BF16 stay
     * 16-bit, F32 stays F32), "q8_0" (8-bit blocks, about 1/4 of float32), "q4_0" or "q4_1" (4-bit blocks with the
     * output head at 8 bits; q4_1 fits a scale and a minimum per block and is the more accurate). Made when the model
     * is loaded; greedy output stays exactly that of the target as loaded. See docs/quantization.md.
     */
    private String targetQuantization = "none";

    /**
     * How the drafter model's weights are stored, chosen apart from the target's: a 4-bit drafter drafts faster and
     * never changes the output, only how often drafts are accepted. Same values as target-quantization.
     */
    private String drafterQuantization = "none";

    /**
     * Longest sequence (prompt + output) one request may use, in tokens; bounds the KV cache. 0 uses the model's
     * context length.
     */
    private int maxContextTokens = 0;

    /**
     * Requests that decode at once, each on its own thread with its own KV cache. More wait in the queue. On the CPU
     * the matrix kernel already uses every core for one request: a few in flight at once is enough.
     */
    private int maxConcurrentRequests = ServingLimits.DEFAULT.maxConcurrentRequests();

    /**
     * Requests that may wait for a slot; beyond that a request is refused at once (EngineBusyException). 0 refuses a
     * request as soon as every slot is taken.
     */
    private int maxQueuedRequests = ServingLimits.DEFAULT.maxQueuedRequests();

    /** Longest a request waits in the queue for a slot before it is refused (EngineBusyException). */
    private Duration queueTimeout = ServingLimits.DEFAULT.queueTimeout();

    /**
     * KV cache memory that the requests in flight may reserve together (target and drafter caches; each request
     * reserves room for its prompt plus max tokens). A request that does not fit alone is refused; one that does not
     * fit beside the others waits in the queue. 0 means no bound.
     */
    private DataSize kvCacheBudget = DataSize.ofBytes(0);

    /**
     * Largest max tokens a request may ask for; a request asking for more is refused, and a request that sets none
     * generates at most this many. 0 means no cap (the context window).
     */
    private int maxTokensCap = 0;

    /**
     * When the application stops, how long the requests in flight may go on before they are stopped (each ends with an
     * error at its next decoding step); new requests are refused at once and queued ones fail. The models are closed
     * once no request uses them.
     */
    private Duration shutdownGracePeriod = ServingLimits.DEFAULT.shutdownGracePeriod();

    /**
     * The most prompt tokens one forward pass takes: a longer prompt is prefilled in chunks of this size, which bounds
     * the pass's working memory (and each request's reservation against kv-cache-budget).
     */
    private int prefillChunkTokens = ServingLimits.DEFAULT.prefillChunkTokens();

    /**
     * How long a request in flight may go without a decoding step before the health check reports the engine as
     * wedged (DOWN).
     */
    private Duration wedgeTimeout = Duration.ofSeconds(120);

    /**
     * Whether special-token text inside chat messages (for example "<|im_start|>system" typed by a user) becomes the
     * model's special tokens, as transformers' apply_chat_template(tokenize=True) does. false: special tokens only
     * where the chat template puts them, so a message cannot forge a turn of another role; messages without
     * special-token text give the same ids either way.
     */
    private boolean parseSpecialTokensInMessages = false;

    /**
     * Bound by {@link SpeculaChatProperties}; here only so that the strict binding of {@code spring.ai.specula.*}
     * (unknown keys fail start-up) leaves the {@code chat.*} keys to it.
     */
    private Map<String, Object> chat = new LinkedHashMap<>();

    /** Bound by {@link SpeculaAdaptiveProperties}; here only so that the strict binding leaves {@code adaptive.*} to it. */
    private Map<String, Object> adaptive = new LinkedHashMap<>();

    /** Bound by {@link SpeculaBatchingProperties}; here only so that the strict binding leaves {@code batching.*} to it. */
    private Map<String, Object> batching = new LinkedHashMap<>();

    public @Nullable String getTarget() {
        return this.target;
    }

    public void setTarget(@Nullable String target) {
        this.target = target;
    }

    public @Nullable String getDrafter() {
        return this.drafter;
    }

    public @Nullable Path getOllamaModels() {
        return this.ollamaModels;
    }

    public void setOllamaModels(@Nullable Path ollamaModels) {
        this.ollamaModels = ollamaModels;
    }

    public void setDrafter(@Nullable String drafter) {
        this.drafter = drafter;
    }

    public String getDevice() {
        return this.device;
    }

    public void setDevice(String device) {
        this.device = device;
    }

    public String getDtype() {
        return this.dtype;
    }

    public void setDtype(String dtype) {
        this.dtype = dtype;
    }

    public String getTargetQuantization() {
        return this.targetQuantization;
    }

    public void setTargetQuantization(String targetQuantization) {
        this.targetQuantization = targetQuantization;
    }

    public String getDrafterQuantization() {
        return this.drafterQuantization;
    }

    public void setDrafterQuantization(String drafterQuantization) {
        this.drafterQuantization = drafterQuantization;
    }

    public int getMaxContextTokens() {
        return this.maxContextTokens;
    }

    public void setMaxContextTokens(int maxContextTokens) {
        this.maxContextTokens = maxContextTokens;
    }

    public int getMaxConcurrentRequests() {
        return this.maxConcurrentRequests;
    }

    public void setMaxConcurrentRequests(int maxConcurrentRequests) {
        this.maxConcurrentRequests = maxConcurrentRequests;
    }

    public int getMaxQueuedRequests() {
        return this.maxQueuedRequests;
    }

    public void setMaxQueuedRequests(int maxQueuedRequests) {
        this.maxQueuedRequests = maxQueuedRequests;
    }

    public Duration getQueueTimeout() {
        return this.queueTimeout;
    }

    public void setQueueTimeout(Duration queueTimeout) {
        this.queueTimeout = queueTimeout;
    }

    public DataSize getKvCacheBudget() {
        return this.kvCacheBudget;
    }

    public void setKvCacheBudget(DataSize kvCacheBudget) {
        this.kvCacheBudget = kvCacheBudget;
    }

    public int getMaxTokensCap() {
        return this.maxTokensCap;
    }

    public void setMaxTokensCap(int maxTokensCap) {
        this.maxTokensCap = maxTokensCap;
    }

    public Duration getWedgeTimeout() {
        return this.wedgeTimeout;
    }

    public void setWedgeTimeout(Duration wedgeTimeout) {
        this.wedgeTimeout = wedgeTimeout;
    }

    public boolean isParseSpecialTokensInMessages() {
        return this.parseSpecialTokensInMessages;
    }

    public void setParseSpecialTokensInMessages(boolean parseSpecialTokensInMessages) {
        this.parseSpecialTokensInMessages = parseSpecialTokensInMessages;
    }

    Map<String, Object> getChat() {
        return this.chat;
    }

    void setChat(Map<String, Object> chat) {
        this.chat = chat;
    }

    Map<String, Object> getAdaptive() {
        return this.adaptive;
    }

    public Duration getShutdownGracePeriod() {
        return this.shutdownGracePeriod;
    }

    public void setShutdownGracePeriod(Duration shutdownGracePeriod) {
        this.shutdownGracePeriod = shutdownGracePeriod;
    }

    public int getPrefillChunkTokens() {
        return this.prefillChunkTokens;
    }

    public void setPrefillChunkTokens(int prefillChunkTokens) {
        this.prefillChunkTokens = prefillChunkTokens;
    }

    void setAdaptive(Map<String, Object> adaptive) {
        this.adaptive = adaptive;
    }

    Map<String, Object> getBatching() {
        return this.batching;
    }

    void setBatching(Map<String, Object> batching) {
        this.batching = batching;
    }

    /** The limits of serving under load. */
    public ServingLimits toServingLimits() {
        return new ServingLimits(this.maxConcurrentRequests, this.maxQueuedRequests, this.queueTimeout,
                this.kvCacheBudget != null ? this.kvCacheBudget.toBytes() : -1, this.maxTokensCap,
                this.shutdownGracePeriod, this.prefillChunkTokens);
    }

    /**
     * The engine configuration; fails with an {@link InvalidConfigurationPropertyValueException} naming the property
     * and the path when the target is missing or a model directory does not exist.
     */
    public EngineConfig toEngineConfig() {
        Path targetDir = modelDirectory("target", this.target, true);
        DrafterChoice drafterChoice = DrafterChoice.parse(this.drafter);
        if (drafterChoice.kind() == DrafterChoice.Kind.MODEL) {
            drafterChoice = DrafterChoice.model(modelDirectory("drafter", this.drafter, false));
        }
        return new EngineConfig(targetDir, drafterChoice, this.device.trim().toLowerCase(Locale.ROOT),
                this.dtype.trim().toLowerCase(Locale.ROOT), this.maxContextTokens, "auto", toServingLimits(),
                this.parseSpecialTokensInMessages,
                quantization("target-quantization", this.targetQuantization),
                quantization("drafter-quantization", this.drafterQuantization));
    }

    private static Quantization quantization(String property, @Nullable String value) {
        try {
            return Quantization.parse(CONFIG_PREFIX + "." + property, value);
        }
        catch (IllegalArgumentException ex) {
            throw new InvalidConfigurationPropertyValueException(CONFIG_PREFIX + "." + property, value,
                    "expected " + Quantization.names());
        }
    }

    private Path modelDirectory(String property, @Nullable String value, boolean required) {
        String name = CONFIG_PREFIX + "." + property;
        if (!StringUtils.hasText(value)) {
            throw new InvalidConfigurationPropertyValueException(name, value, required
                    ? "A target model directory is required: set " + name
                            + " to a Hugging Face model directory (config.json, tokenizer.json, *.safetensors), a "
                            + ".gguf file or ollama:NAME"
                    : "expected a model directory, a .gguf file, ollama:NAME, \"ngram\" or empty");
        }
        if (OllamaModels.isReference(value)) {
            try {
                return OllamaModels.resolve(value, this.ollamaModels);
            }
            catch (SpeculaException ex) {
                throw new InvalidConfigurationPropertyValueException(name, value, ex.getMessage());
            }
        }
        Path dir;
        try {
            dir = Path.of(value.trim()).toAbsolutePath().normalize();
        }
        catch (InvalidPathException ex) {
            throw new InvalidConfigurationPropertyValueException(name, value, "not a valid path: " + ex.getMessage());
        }
        if (Files.isRegularFile(dir)) {
            if (!GgufFile.isGguf(dir)) {
                throw new InvalidConfigurationPropertyValueException(name, value, "the file " + dir
                        + " is not a GGUF file (it does not start with \"GGUF\"); expected a .gguf file or a "
                        + "Hugging Face model directory");
            }
            return dir;
        }
        if (!Files.isDirectory(dir)) {
            throw new InvalidConfigurationPropertyValueException(name, value,
                    "the model directory " + dir + (Files.exists(dir) ? " is not a directory" : " does not exist"));
        }
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new InvalidConfigurationPropertyValueException(name, value,
                    "the model directory " + dir + " has no config.json (expected a Hugging Face model directory)");
        }
        return dir;
    }

    private static @Nullable Quantization checkQuantization(Errors errors, String field, @Nullable String value) {
        try {
            return Quantization.parse(field, value);
        }
        catch (IllegalArgumentException ex) {
            errors.rejectValue(field, "specula." + field, "expected " + Quantization.names() + " (got \"" + value
                    + "\")");
            return null;
        }
    }

    @Override
    public boolean supports(Class<?> type) {
        return SpeculaEngineProperties.class.isAssignableFrom(type);
    }

    @Override
    public void validate(Object target, Errors errors) {
        SpeculaEngineProperties properties = (SpeculaEngineProperties) target;
        if (properties.device == null
                || !DEVICE.matcher(properties.device.trim().toLowerCase(Locale.ROOT)).matches()) {
            errors.rejectValue("device", "specula.device", "expected \"cpu\", \"cuda\", \"cuda:N\" or \"auto\"");
        }
        if (properties.dtype == null || !DTYPES.contains(properties.dtype.trim().toLowerCase(Locale.ROOT))) {
            errors.rejectValue("dtype", "specula.dtype", "expected \"auto\", \"float32\" or \"float16\"");
        }
        Quantization targetQ = checkQuantization(errors, "targetQuantization", properties.targetQuantization);
        Quantization drafter = checkQuantization(errors, "drafterQuantization", properties.drafterQuantization);
        String device = properties.device == null ? "" : properties.device.trim().toLowerCase(Locale.ROOT);
        boolean cuda = device.startsWith("cuda");
        if (cuda && targetQ != null && targetQ != Quantization.NONE) {
            errors.rejectValue("targetQuantization", "specula.targetQuantization", "quantized weights run on the CPU "
                    + "kernels; with device " + device + " (DJL's PyTorch engine) use \"none\"");
        }
        if (cuda && drafter != null && drafter != Quantization.NONE) {
            errors.rejectValue("drafterQuantization", "specula.drafterQuantization", "quantized weights run on the "
                    + "CPU kernels; with device " + device + " (DJL's PyTorch engine) use \"none\"");
        }
        String drafterSetting = properties.drafter == null ? "" : properties.drafter.trim();
        boolean drafterModel = DrafterChoice.parse(properties.drafter).kind() == DrafterChoice.Kind.MODEL;
        if (drafter != null && drafter != Quantization.NONE && !drafterModel) {
            errors.rejectValue("drafterQuantization", "specula.drafterQuantization", "set to \"" + drafter
                    + "\" but the drafter is " + (drafterSetting.isEmpty() ? "not set" : "\"" + drafterSetting + "\"")
                    + ", not a model directory: there are no drafter weights to quantize");
        }
        boolean float32 = properties.dtype != null && properties.dtype.trim().equalsIgnoreCase("float32");
        if (float32 && targetQ != null && targetQ != Quantization.NONE) {
            errors.rejectValue("targetQuantization", "specula.targetQuantization", "dtype \"float32\" asks for "
                    + "float32 weights and target-quantization for \"" + targetQ + "\": set only one of them");
        }
        if (properties.maxContextTokens < 0) {
            errors.rejectValue("maxContextTokens", "specula.maxContextTokens",
                    "expected 0 (the model's context length) or a positive number of tokens");
        }
        try {
            properties.toServingLimits();
        }
        catch (InvalidRequestException ex) {
            // The engine's rules of its limits, reported against the properties that hold them.
            ex.errors().forEach(e -> errors.rejectValue(e.field(), "specula." + e.field(), e.message()));
        }
        if (properties.wedgeTimeout == null || properties.wedgeTimeout.isNegative()
                || properties.wedgeTimeout.isZero()) {
            errors.rejectValue("wedgeTimeout", "specula.wedgeTimeout", "expected a positive duration, e.g. 120s");
        }
    }
}
