package io.specula.model;

import io.specula.kernel.MatMul;
import io.specula.kernel.Ops;

/**
 * A model computed in plain Java on the CPU ({@code LlamaModel}, {@code Gemma3Model}): the matrix kernel it runs on
 * and the formats its weights were loaded in, for the engine's info, the benchmarks and the load log.
 */
public interface JavaKernelModel extends CausalLm {

    MatMul kernel();

    /** The per-token operations that go with the kernel. */
    Ops ops();

    /** The longest sequence this model serves (its RoPE tables' length: the configured context, at most the model's). */
    int maxPositions();

    /** The weights' formats, bytes and load times. */
    WeightsSummary weights();

    /** The quantization the weights were loaded with (a model rebuilt from new weights uses the same). */
    default Quantization quantization() {
        return weights().quantization();
    }
}
