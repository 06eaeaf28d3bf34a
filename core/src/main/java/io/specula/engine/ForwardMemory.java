package io.specula.engine;

import io.specula.model.ModelConfig;
import io.specula.model.llama.DjlLlamaModel;

/**
 * Estimates of the working memory of one forward pass, which a request's reservation counts besides its KV caches:
 * the engine sizes a request by its largest pass, one prefill chunk ({@code spring.ai.specula.prefill-chunk-tokens})
 * over a cache of its whole capacity. Estimates from the shapes, not measurements: they count the arrays a pass
 * allocates (the Java kernels) or the tensors it keeps until it ends (DJL), so they bound the memory that grows with a
 * request, not the allocator's overhead.
 */
final class ForwardMemory {

    private ForwardMemory() {
    }

    /**
     * Bytes a pass of {@code n} positions over a cache of {@code keys} positions holds at its peak.
     *
     * <ul>
     *   <li>Java kernels ({@code LlamaModel}): per position the hidden state, its norm and the output projection
     *       (3 × hidden), q|k|v and the attention output, the MLP's gate|up and activation (3 × ffn), float32; one row
     *       of attention scores per layer; one row of logits.</li>
     *   <li>DJL ({@code DjlLlamaModel}): every layer's intermediate tensors live until the pass ends (one NDScope), in
     *       the compute dtype: per layer and position about 4 × hidden + 3 × q + 4 × kv + 5 × ffn, plus the attention
     *       scores and probabilities (2 × heads × n × keys, float32), plus the causal mask (group × n × keys float32,
     *       as a Java array and as a tensor).</li>
     * </ul>
     */
    static long passBytes(LoadedModel model, int n, int keys) {
        ModelConfig c = model.config();
        long d = c.hiddenSize();
        long q = c.qDim();
        long kv = c.kvDim();
        long ff = c.intermediateSize();
        long logits = (long) Float.BYTES * c.vocabSize();
        if (model.model() instanceof DjlLlamaModel djl) {
            long bytes = djl.dataType().getNumOfBytes();
            long perLayer = (long) n * (4 * d + 3 * q + 4 * kv + 5 * ff) * bytes
                    + 2L * c.numHeads() * n * keys * Float.BYTES;
            long mask = n > 1 ? 2L * (c.numHeads() / c.numKvHeads()) * n * keys * Float.BYTES : 0;
            return c.numLayers() * perLayer + mask + logits;
        }
        long perPosition = 3 * d + 2 * q + 2 * kv + 3 * ff;
        return (long) n * perPosition * Float.BYTES + (long) keys * Float.BYTES + logits;
    }
}
