package io.specula.engine;

import io.specula.model.Quantization;

import java.nio.file.Path;

/**
 * What to load: the target model directory, the drafter, the device ("cpu", "cuda", "cuda:N", "auto") and the compute
 * dtype ("auto", "float32", "float16").
 *
 * @param drafter          which drafter proposes tokens; {@code null} means {@link DrafterChoice#NONE}
 * @param maxContextTokens upper bound for one sequence's KV cache (prompt + output); 0 = the model's context length
 * @param kernel           the compute path on the CPU: "auto" (the Vector API kernel when its module is present),
 *                         "vector", "scalar" or "djl" (DJL's PyTorch engine); CUDA devices always use DJL
 * @param limits           admission control and memory bounds under load
 * @param parseSpecialTokensInMessages whether special-token text inside chat messages becomes special tokens, as
 *                         transformers' {@code apply_chat_template(tokenize=True)} does; false (the default): special
 *                         tokens only where the chat template puts them, so a message cannot forge a turn
 * @param targetQuantization  the target's weights on the CPU kernels ({@link Quantization}; NONE keeps the
 *                            checkpoint's precision)
 * @param drafterQuantization the drafter model's weights, chosen apart from the target's
 */
public record EngineConfig(Path targetDir, DrafterChoice drafter, String device, String dtype, int maxContextTokens,
                           String kernel, ServingLimits limits, boolean parseSpecialTokensInMessages,
                           Quantization targetQuantization, Quantization drafterQuantization) {

    public EngineConfig {
        drafter = drafter == null ? DrafterChoice.NONE : drafter;
        device = device == null ? "cpu" : device;
        dtype = dtype == null ? "auto" : dtype;
        kernel = kernel == null ? "auto" : kernel;
        limits = limits == null ? ServingLimits.DEFAULT : limits;
        targetQuantization = targetQuantization == null ? Quantization.NONE : targetQuantization;
        drafterQuantization = drafterQuantization == null ? Quantization.NONE : drafterQuantization;
    }

    public EngineConfig(Path targetDir, DrafterChoice drafter, String device, String dtype, int maxContextTokens,
                        String kernel, ServingLimits limits, boolean parseSpecialTokensInMessages) {
        this(targetDir, drafter, device, dtype, maxContextTokens, kernel, limits, parseSpecialTokensInMessages,
                Quantization.NONE, Quantization.NONE);
    }

    public EngineConfig(Path targetDir, DrafterChoice drafter, String device, String dtype, int maxContextTokens,
                        String kernel) {
        this(targetDir, drafter, device, dtype, maxContextTokens, kernel, ServingLimits.DEFAULT, false);
    }

    public EngineConfig(Path targetDir, DrafterChoice drafter, String device, String dtype, int maxContextTokens) {
        this(targetDir, drafter, device, dtype, maxContextTokens, "auto", ServingLimits.DEFAULT, false);
    }

    public EngineConfig withKernel(String kernel) {
        return new EngineConfig(targetDir, drafter, device, dtype, maxContextTokens, kernel, limits,
                parseSpecialTokensInMessages, targetQuantization, drafterQuantization);
    }

    public EngineConfig withLimits(ServingLimits limits) {
        return new EngineConfig(targetDir, drafter, device, dtype, maxContextTokens, kernel, limits,
                parseSpecialTokensInMessages, targetQuantization, drafterQuantization);
    }

    public EngineConfig withParseSpecialTokensInMessages(boolean parse) {
        return new EngineConfig(targetDir, drafter, device, dtype, maxContextTokens, kernel, limits, parse,
                targetQuantization, drafterQuantization);
    }

    /** The same with the target's and the drafter's weight quantization. */
    public EngineConfig withQuantization(Quantization target, Quantization drafter) {
        return new EngineConfig(targetDir, this.drafter, device, dtype, maxContextTokens, kernel, limits,
                parseSpecialTokensInMessages, target, drafter);
    }

    public static EngineConfig of(Path targetDir, DrafterChoice drafter) {
        return new EngineConfig(targetDir, drafter, "cpu", "auto", 0);
    }

    /** With the drafter as a setting writes it ({@link DrafterChoice#parse}): "ngram", a directory, or none. */
    public static EngineConfig of(Path targetDir, String drafter) {
        return of(targetDir, DrafterChoice.parse(drafter));
    }
}
