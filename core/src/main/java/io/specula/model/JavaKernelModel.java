package io.specula.model;

import io.specula.kernel.MatMul;

/**
 * A model computed in plain Java on the CPU ({@code LlamaModel}, {@code Gemma3Model}): the matrix kernel it runs on
 * and the formats its weights were loaded in, for the engine's info, the benchmarks and the load log.
 */
public interface JavaKernelModel extends CausalLm {

    MatMul kernel();

    /** The weights' formats, bytes and load times. */
    WeightsSummary weights();

    /** The quantization the weights were loaded with (a model rebuilt from new weights uses the same). */
    default Quantization quantization() {
        return weights().quantization();
    }
}
