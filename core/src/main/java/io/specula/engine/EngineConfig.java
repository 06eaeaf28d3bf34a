package io.specula.engine;

import java.nio.file.Path;

/**
 * What to load: the target model directory, the drafter ({@code null} for none, {@code "ngram"} for prompt lookup,
 * otherwise a model directory), the device ("cpu", "cuda", "cuda:N", "auto") and the compute dtype ("auto",
 * "float32", "float16").
 *
 * @param maxContextTokens upper bound for one sequence's KV cache (prompt + output); 0 = the model's context length
 */
public record EngineConfig(Path targetDir, String drafter, String device, String dtype, int maxContextTokens) {

    public static final String NGRAM = "ngram";

    public EngineConfig {
        device = device == null ? "cpu" : device;
        dtype = dtype == null ? "auto" : dtype;
    }

    public static EngineConfig of(Path targetDir, String drafter) {
        return new EngineConfig(targetDir, drafter, "cpu", "auto", 0);
    }
}
