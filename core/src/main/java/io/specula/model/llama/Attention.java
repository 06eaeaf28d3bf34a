package io.specula.model.llama;

import io.specula.kernel.Ops;
import io.specula.model.ModelConfig;

import java.util.Arrays;

/**
 * Causal grouped-query attention of the new positions over the KV cache, for every model on the Java kernels
 * ({@link LlamaModel}, {@code Gemma3Model}): query head h reads key/value head h / (heads / kvHeads), the scores are
 * q.k times the model's scale, and position p attends to positions {@code max(0, p - window + 1) .. p} (all of them
 * when the layer has no window), as transformers' causal and sliding-window masks ({@code kv_idx > q_idx - window}).
 */
public final class Attention {

    private final Ops ops;
    private final int heads;
    private final int kvHeads;
    private final int headDim;

    public Attention(ModelConfig c, Ops ops) {
        this.ops = ops;
        this.heads = c.numHeads();
        this.kvHeads = c.numKvHeads();
        this.headDim = c.headDim();
    }

    /**
     * @param qkv    the pass's fused projections, one row of q | k | v per new position (q already rotated)
     * @param layer  whose keys and values to read from {@code cache} (the new positions' already written)
     * @param start  the position of the first new token
     * @param window the layer's sliding window, 0 for none
     * @param scale  what q.k is multiplied by before the softmax
     * @param out    [n][heads * headDim]
     */
    public void attend(float[] qkv, ArrayKvCache cache, int layer, int start, int n, int window, float scale,
                       float[] out) {
        attend(qkv, 0, cache, layer, start, n, window, scale, out);
    }

    /**
     * As {@link #attend(float[], ArrayKvCache, int, int, int, int, float, float[])} for one sequence's rows
     * {@code row0 .. row0 + n - 1} of a pass that holds several sequences ({@link LlamaModel}'s batched pass): reads
     * q from those rows of {@code qkv} and writes those rows of {@code out}.
     */
    public void attend(float[] qkv, int row0, ArrayKvCache cache, int layer, int start, int n, int window, float scale,
                       float[] out) {
        int hd = headDim;
        int qDim = heads * hd;
        int kvDim = kvHeads * hd;
        int stride = qDim + 2 * kvDim;
        int group = heads / kvHeads;
        float[] keys = cache.keys(layer);
        float[] values = cache.values(layer);
        float[] scores = new float[start + n];
        for (int t = 0; t < n; t++) {
            int pos = start + t;
            int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
            for (int h = 0; h < heads; h++) {
                int qAt = (row0 + t) * stride + h * hd;
                int kvAt = (h / group) * hd;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = first; j <= pos; j++) {
                    float s = ops.dot(qkv, qAt, keys, j * kvDim + kvAt, hd) * scale;
                    scores[j] = s;
                    max = Math.max(max, s);
                }
                float sum = 0;
                for (int j = first; j <= pos; j++) {
                    float e = (float) Math.exp(scores[j] - max);
                    scores[j] = e;
                    sum += e;
                }
                float inv = 1f / sum;
                int oAt = (row0 + t) * qDim + h * hd;
                Arrays.fill(out, oAt, oAt + hd, 0f);
                for (int j = first; j <= pos; j++) {
                    ops.axpy(scores[j] * inv, values, j * kvDim + kvAt, out, oAt, hd);
                }
            }
        }
    }
}
