package io.specula.generate;

import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;

import java.util.Arrays;

/**
 * A model whose long forward passes run in chunks: a pass of more than {@code chunk} tokens (a prompt's prefill) is
 * fed as consecutive passes of at most {@code chunk} tokens over the same KV cache, which is what the one long pass
 * computes (each position attends to the cache up to itself either way). A pass's working memory (activations,
 * n × 2·ffn floats; on DJL the attention scores and mask, n × keys per head) then grows with the chunk rather than with
 * the prompt, and the DJL mask's size (group × n × keys) never overflows an int (it did near 23 k tokens).
 *
 * <p>The engine wraps the models it decodes with (target and drafter) so model code stays a plain forward pass.
 * Passes of at most {@code chunk} tokens (decoding steps, draft verification) go straight through.
 */
public final class PrefillChunking implements CausalLm {

    private final CausalLm model;
    private final int chunk;

    private PrefillChunking(CausalLm model, int chunk) {
        this.model = model;
        this.chunk = chunk;
    }

    /** {@code model} with passes longer than {@code chunk} tokens split into chunks. */
    public static CausalLm wrap(CausalLm model, int chunk) {
        if (chunk < 1) {
            throw new IllegalArgumentException("prefill chunk: expected at least 1 token, got " + chunk);
        }
        if (model instanceof PrefillChunking c) {
            return new PrefillChunking(c.model, chunk);
        }
        return new PrefillChunking(model, chunk);
    }

    /** The wrapped model. */
    public CausalLm model() {
        return model;
    }

    public int chunk() {
        return chunk;
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public int vocabSize() {
        return model.vocabSize();
    }

    @Override
    public KvCache newCache(int capacity) {
        return model.newCache(capacity);
    }

    @Override
    public float[][] forward(int[] tokens, KvCache cache, int numLogits) {
        int n = tokens.length;
        if (n <= chunk) {
            return model.forward(tokens, cache, numLogits);
        }
        if (numLogits < 0 || numLogits > n) {
            throw new IllegalArgumentException("numLogits " + numLogits + " for " + n + " tokens");
        }
        // Logits are wanted after tokens [firstLogit, n); each chunk returns those that fall inside it.
        int firstLogit = n - numLogits;
        float[][] out = new float[numLogits][];
        for (int start = 0; start < n; start += chunk) {
            int end = Math.min(n, start + chunk);
            int want = Math.max(0, end - Math.max(start, firstLogit));
            float[][] rows = model.forward(Arrays.copyOfRange(tokens, start, end), cache, want);
            if (want > 0) {
                System.arraycopy(rows, 0, out, end - want - firstLogit, want);
            }
        }
        return out;
    }

    @Override
    public void close() {
        model.close();
    }
}
