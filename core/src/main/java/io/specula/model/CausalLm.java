package io.specula.model;

/**
 * A causal language model that scores tokens against a {@link KvCache}. Implementations are thread-safe for
 * concurrent forward passes on different caches.
 */
public interface CausalLm extends AutoCloseable {

    ModelConfig config();

    /** Rows of the output projection; may exceed the tokenizer's vocabulary (padded embedding rows). */
    default int vocabSize() {
        return config().vocabSize();
    }

    /** A new, empty cache for up to {@code capacity} positions (at most the model's context length). */
    KvCache newCache(int capacity);

    /**
     * Appends {@code tokens} at positions {@code cache.length() ..} and returns the logits that follow the last
     * {@code numLogits} of them, oldest first: {@code result[i]} is the distribution after token
     * {@code tokens[tokens.length - numLogits + i]}. One pass scores every position (prefill, or draft verification).
     */
    float[][] forward(int[] tokens, KvCache cache, int numLogits);

    @Override
    void close();

    /**
     * The one rule for a new cache's size: 1 up to the positions the model was built for, which is the configured
     * context (at most max_position_embeddings: RoPE tables and masks are sized by it).
     */
    static void checkCacheCapacity(ModelConfig config, int capacity, int maxPositions) {
        if (capacity < 1 || capacity > maxPositions) {
            throw new io.specula.SpeculaException("context: a sequence of " + capacity + " positions was asked for, the "
                    + "model '" + config.architecture().className() + "' was loaded for 1.." + maxPositions
                    + " (the configured context, at most max_position_embeddings " + config.maxPositionEmbeddings()
                    + ")");
        }
    }
}
