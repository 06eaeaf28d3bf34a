package io.specula.autoconfigure;

import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import io.specula.engine.EngineConfig;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.util.StringUtils;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * What the Specula engine loads and where it runs ({@code spring.ai.specula.*}). The defaults of chat requests are
 * under {@code spring.ai.specula.chat.*} ({@link SpeculaChatProperties}).
 *
 * <p>
 * Values are checked when they are bound (a bad value fails start-up naming the property); the model directories are
 * checked when the engine is created.
 */
@ConfigurationProperties(SpeculaEngineProperties.CONFIG_PREFIX)
public class SpeculaEngineProperties implements Validator {

    public static final String CONFIG_PREFIX = "spring.ai.specula";

    static final Set<String> DTYPES = Set.of("auto", "float32", "float16");

    private static final Pattern DEVICE = Pattern.compile("cpu|auto|cuda(:\\d+)?");

    /**
     * Directory of the target model: the model that answers, in Hugging Face layout (config.json, tokenizer.json,
     * tokenizer_config.json, *.safetensors). Required.
     */
    private @Nullable String target;

    /**
     * The drafter that proposes tokens for the target to verify: the directory of a small model sharing the target's
     * tokenizer, "ngram" for prompt-lookup drafting (no second model), or empty for none (the target decodes alone).
     */
    private @Nullable String drafter;

    /** Where the models run: "cpu", "cuda", "cuda:N" (the N-th GPU) or "auto" (a GPU when there is one). */
    private String device = "cpu";

    /** Compute dtype: "auto" (the model's own dtype where the device supports it), "float32" or "float16". */
    private String dtype = "auto";

    /**
     * Longest sequence (prompt + output) one request may use, in tokens; bounds the KV cache. 0 uses the model's
     * context length.
     */
    private int maxContextTokens = 0;

    public @Nullable String getTarget() {
        return this.target;
    }

    public void setTarget(@Nullable String target) {
        this.target = target;
    }

    public @Nullable String getDrafter() {
        return this.drafter;
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

    public int getMaxContextTokens() {
        return this.maxContextTokens;
    }

    public void setMaxContextTokens(int maxContextTokens) {
        this.maxContextTokens = maxContextTokens;
    }

    /**
     * The engine configuration; fails with an {@link InvalidConfigurationPropertyValueException} naming the property
     * and the path when the target is missing or a model directory does not exist.
     */
    public EngineConfig toEngineConfig() {
        Path targetDir = modelDirectory("target", this.target, true);
        String drafterValue = StringUtils.hasText(this.drafter) ? this.drafter.trim() : null;
        if (drafterValue != null && !EngineConfig.NGRAM.equalsIgnoreCase(drafterValue)
                && !"none".equalsIgnoreCase(drafterValue)) {
            drafterValue = modelDirectory("drafter", drafterValue, false).toString();
        }
        else if (drafterValue != null) {
            drafterValue = "none".equalsIgnoreCase(drafterValue) ? null : EngineConfig.NGRAM;
        }
        return new EngineConfig(targetDir, drafterValue, this.device.trim().toLowerCase(Locale.ROOT),
                this.dtype.trim().toLowerCase(Locale.ROOT), this.maxContextTokens);
    }

    private static Path modelDirectory(String property, @Nullable String value, boolean required) {
        String name = CONFIG_PREFIX + "." + property;
        if (!StringUtils.hasText(value)) {
            throw new InvalidConfigurationPropertyValueException(name, value, required
                    ? "A target model directory is required: set " + name
                            + " to a Hugging Face model directory (config.json, tokenizer.json, *.safetensors)"
                    : "expected a model directory, \"ngram\" or empty");
        }
        Path dir;
        try {
            dir = Path.of(value.trim()).toAbsolutePath().normalize();
        }
        catch (InvalidPathException ex) {
            throw new InvalidConfigurationPropertyValueException(name, value, "not a valid path: " + ex.getMessage());
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
        if (properties.maxContextTokens < 0) {
            errors.rejectValue("maxContextTokens", "specula.maxContextTokens",
                    "expected 0 (the model's context length) or a positive number of tokens");
        }
    }
}
