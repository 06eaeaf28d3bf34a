package io.specula.engine;

import io.specula.model.Quantization;

import java.nio.file.Path;

/**
 * What to load: the target model directory, the drafter ({@code null} for none, {@code "ngram"} for prompt lookup,
 * otherwise a model directory), the device ("cpu", "cuda", "cuda:N", "auto") and the compute dtype ("auto",
 * "float32", "float16").
 *
 * @param maxContextTokens upper bound for one sequence's KV cache (prompt + output); 0 = the model's context length
 * @param kernel           the compute path on the CPU: "auto" (the Vector API kernel when its module is present),
 *                         "vector", "scalar" or "djl" (DJL's PyTorch engine); CUDA devices always use DJL
 * @param limits           admission control and memory bounds under load
 * @param targetQuantization  the target's weights on the CPU kernels ({@link Quantization}; NONE keeps the
 *                            checkpoint's precision)
 * @param drafterQuantization the drafter model's weights, chosen apart from the target's
 */
public record EngineConfig(Path targetDir, String drafter, String device, String dtype, int maxContextTokens,
                           String kernel, ServingLimits limits, Quantization targetQuantization,
                           Quantization drafterQuantization) {

    public static final String NGRAM = "ngram";

    public EngineConfig {
        device = device == null ? "cpu" : device;
        dtype = dtype == null ? "auto" : dtype;
        kernel = kernel == null ? "auto" : kernel;
        limits = limits == null ? ServingLimits.DEFAULT : limits;
        targetQuantization = targetQuantization == null ? Quantization.NONE : targetQuantization;
        drafterQuantization = drafterQuantization == null ? Quantization.NONE : drafterQuantization;
    }

    public EngineConfig(Path targetDir, String drafter, String device, String dtype, int maxContextTokens,
                        String kernel, ServingLimits limits) {
        this(targetDir, drafter, device, dtype, maxContextTokens, kernel, limits, Quantization.NONE,
                Quantization.NONE);
    }

    public EngineConfig(Path targetDir, String drafter, String device, String dtype, int maxContextTokens,
                        String kernel) {
        this(targetDir, drafter, device, dtype, maxContextTokens, kernel, ServingLimits.DEFAULT);
    }

    public EngineConfig(Path targetDir, String drafter, String device, String dtype, int maxContextTokens) {
        this(targetDir, drafter, device, dtype, maxContextTokens, "auto", ServingLimits.DEFAULT);
    }

    public EngineConfig withKernel(String kernel) {
        return new EngineConfig(targetDir, drafter, device, dtype, maxContextTokens, kernel, limits,
                targetQuantization, drafterQuantization);
    }

    public EngineConfig withLimits(ServingLimits limits) {
        return new EngineConfig(targetDir, drafter, device, dtype, maxContextTokens, kernel, limits,
                targetQuantization, drafterQuantization);
    }

    /** The same with the target's and the drafter's weight quantization. */
    public EngineConfig withQuantization(Quantization target, Quantization drafter) {
        return new EngineConfig(targetDir, this.drafter, device, dtype, maxContextTokens, kernel, limits, target,
                drafter);
    }

    public static EngineConfig of(Path targetDir, String drafter) {
        return new EngineConfig(targetDir, drafter, "cpu", "auto", 0);
    }
}
