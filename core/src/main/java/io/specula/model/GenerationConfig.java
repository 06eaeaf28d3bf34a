package io.specula.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a model's optional {@code generation_config.json} says about decoding: the stop tokens (often several, e.g.
 * Llama 3's {@code <|eot_id|>} and {@code <|end_of_text|>}) and the sampling defaults its authors recommend. Fields that
 * are absent get transformers' GenerationConfig defaults; token ids and {@code max_new_tokens} that are absent are -1.
 * A field of the wrong type or range fails with the file and field named.
 *
 * <p>When the file is absent transformers falls back on config.json's bos/eos ids; callers should do the same with
 * {@link ModelConfig#eosTokenIds()} when {@link #eosTokenIds()} is empty.
 */
public record GenerationConfig(
        List<Integer> eosTokenIds,
        int bosTokenId,
        int padTokenId,
        boolean doSample,
        double temperature,
        int topK,
        double topP,
        double repetitionPenalty,
        int maxNewTokens) {

    public static final String FILE = "generation_config.json";

    private static final GenerationConfig DEFAULTS = new GenerationConfig(List.of(), -1, -1, false, 1.0, 50, 1.0,
            1.0, -1);

    public GenerationConfig {
        eosTokenIds = List.copyOf(eosTokenIds);
    }

    /** transformers' defaults: greedy, temperature 1, top-k 50, top-p 1, no penalty, no token ids, no length. */
    public static GenerationConfig defaults() {
        return DEFAULTS;
    }

    public boolean hasMaxNewTokens() {
        return maxNewTokens >= 0;
    }

    /** Reads {@code dir/generation_config.json}, or returns {@link #defaults()} when the model has none. */
    public static GenerationConfig read(Path dir) {
        Path file = dir.resolve(FILE);
        if (!Files.exists(file)) {
            return DEFAULTS;
        }
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new ModelFormatException(file, "is not valid JSON: " + e.getMessage(), e);
        }
        if (!parsed.isJsonObject()) {
            throw new ModelFormatException(file, "expected a JSON object, got " + parsed);
        }
        return parse(file, parsed.getAsJsonObject());
    }

    /** Parses an already-read generation_config.json object; {@code file} is only used in error messages. */
    public static GenerationConfig parse(Path file, JsonObject json) {
        ModelConfig.Fields f = new ModelConfig.Fields(file, json);
        double temperature = f.finiteDouble("temperature", DEFAULTS.temperature);
        if (temperature < 0) {
            throw f.error("temperature", "a number >= 0", json.get("temperature"));
        }
        double topP = f.finiteDouble("top_p", DEFAULTS.topP);
        if (!(topP > 0 && topP <= 1)) {
            throw f.error("top_p", "a number in (0, 1]", json.get("top_p"));
        }
        Integer topK = f.optionalInt("top_k");
        Integer maxNewTokens = f.optionalInt("max_new_tokens");
        return new GenerationConfig(
                f.intList("eos_token_id"),
                f.optionalIntOr("bos_token_id", -1),
                f.optionalIntOr("pad_token_id", -1),
                f.bool("do_sample", DEFAULTS.doSample),
                temperature,
                topK == null ? DEFAULTS.topK : topK,
                topP,
                f.positiveDouble("repetition_penalty", DEFAULTS.repetitionPenalty),
                maxNewTokens == null ? DEFAULTS.maxNewTokens : maxNewTokens);
    }
}
