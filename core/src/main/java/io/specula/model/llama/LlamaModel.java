package io.specula.model.llama;

import io.specula.SpeculaException;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.Ops;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.model.WeightsSummary;

/**
 * The Llama family on the CPU, in plain Java: Llama 2 and 3.x, Mistral, Qwen2 (q/k/v biases) and Qwen3 (q/k
 * norms). Pre-norm decoder layers with grouped-query attention, RMSNorm, rotate-half RoPE and a SwiGLU MLP:
 *
 * <pre>
 *   h = x + o_proj(attention(rope(q), rope(k), v))     where q|k|v = qkv_proj(rmsnorm(x))
 *   x = h + down_proj(silu(gate) * up)                 where gate|up = gate_up_proj(rmsnorm(h))
 * </pre>
 *
 * The linear layers go through a {@link MatMul} kernel that scores all new positions in one pass over the weights,
 * which is what makes verifying a draft of several tokens cheap; the weights stay in the format they were loaded in
 * (16-bit, 8-bit or 4-bit: {@link LlamaWeights}) and the kernel decodes them as it reads them.
 */
public final class LlamaModel implements CausalLm {

    private final ModelConfig c;
    private final LlamaWeights w;
    private final MatMul matmul;
    private final Ops ops;
    private final Rope rope;
    private final int maxPositions;

    /** With the per-token operations that go with the kernel (vector or scalar). */
    public LlamaModel(ModelConfig config, LlamaWeights weights, MatMul matmul) {
        this(config, weights, matmul, MatMuls.opsForName(matmul.name()));
    }

    public LlamaModel(ModelConfig config, LlamaWeights weights, MatMul matmul, Ops ops) {
        if (config.mlpBias()) {
            throw new SpeculaException("config.json field 'mlp_bias': true is not supported (expected false)");
        }
        this.c = config;
        this.w = weights;
        this.matmul = matmul;
        this.ops = ops;
        this.maxPositions = config.maxPositionEmbeddings();
        this.rope = new Rope(config, maxPositions);
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    public MatMul kernel() {
        return matmul;
    }

    /** The weights' formats, bytes and load times. */
    public WeightsSummary weights() {
        return w.summary();
    }

    /** The quantization the weights were loaded with (a model rebuilt from new weights uses the same). */
    public Quantization quantization() {
        return w.summary().quantization();
    }

    @Override
    public KvCache newCache(int capacity) {
        if (capacity < 1 || capacity > maxPositions) {
            throw new SpeculaException("context: a sequence of " + capacity + " positions was asked for, the model '"
                    + c.architecture().className() + "' supports 1.." + maxPositions + " (max_position_embeddings)");
        }
        return new ArrayKvCache(c.numLayers(), capacity, c.kvDim());
    }

    @Override
    public float[][] forward(int[] tokens, KvCache kvCache, int numLogits) {
        ArrayKvCache cache = (ArrayKvCache) kvCache;
        int n = tokens.length;
        if (numLogits < 0 || numLogits > n) {
            throw new IllegalArgumentException("numLogits " + numLogits + " for " + n + " tokens");
        }
        cache.reserve(n);
        int start = cache.length();
        int d = c.hiddenSize();
        float[] x = embed(tokens);
        float[] xn = new float[n * d];
        int qkvDim = c.qDim() + 2 * c.kvDim();
        float[] qkv = new float[n * qkvDim];
        float[] attn = new float[n * c.qDim()];
        float[] proj = new float[n * d];
        float[] gateUp = new float[n * 2 * c.intermediateSize()];
        float[] act = new float[n * c.intermediateSize()];
        for (int l = 0; l < w.layers.length; l++) {
            LlamaWeights.Layer layer = w.layers[l];
            rmsnorm(x, layer.attnNorm, xn, n, d);
            matmul.matmul(xn, n, layer.qkv, layer.qkvBias, qkv);
            storeKeysValues(layer, qkv, cache, l, start, n);
            attention(qkv, cache, l, start, n, attn);
            matmul.matmul(attn, n, layer.o, layer.oBias, proj);
            add(x, proj);
            rmsnorm(x, layer.mlpNorm, xn, n, d);
            matmul.matmul(xn, n, layer.gateUp, null, gateUp);
            swiglu(gateUp, act, n, c.intermediateSize());
            matmul.matmul(act, n, layer.down, null, proj);
            add(x, proj);
        }
        cache.advance(n);
        return logits(x, n, numLogits);
    }

    private float[] embed(int[] tokens) {
        int d = c.hiddenSize();
        float[] x = new float[tokens.length * d];
        for (int t = 0; t < tokens.length; t++) {
            int id = tokens[t];
            if (id < 0 || id >= c.vocabSize()) {
                throw new SpeculaException("token id " + id + " is outside the model's vocabulary 0.." + (c.vocabSize() - 1));
            }
            w.embed.row(id, x, t * d); // one row widened or dequantized per token
        }
        return x;
    }

    /** Applies q/k norms (Qwen3) and RoPE, then writes this layer's keys and values in place. */
    private void storeKeysValues(LlamaWeights.Layer layer, float[] qkv, ArrayKvCache cache, int l, int start, int n) {
        int hd = c.headDim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int stride = qDim + 2 * kvDim;
        for (int t = 0; t < n; t++) {
            int row = t * stride;
            int pos = start + t;
            if (layer.qNorm != null) {
                for (int h = 0; h < c.numHeads(); h++) {
                    rmsnorm(qkv, row + h * hd, layer.qNorm, qkv, row + h * hd, hd);
                }
                for (int h = 0; h < c.numKvHeads(); h++) {
                    rmsnorm(qkv, row + qDim + h * hd, layer.kNorm, qkv, row + qDim + h * hd, hd);
                }
            }
            rope.rotate(qkv, row, c.numHeads(), hd, pos);
            rope.rotate(qkv, row + qDim, c.numKvHeads(), hd, pos);
            System.arraycopy(qkv, row + qDim, cache.keys[l], pos * kvDim, kvDim);
            System.arraycopy(qkv, row + qDim + kvDim, cache.values[l], pos * kvDim, kvDim);
        }
    }

    /** Causal grouped-query attention of the new positions over everything in the cache up to each of them. */
    private void attention(float[] qkv, ArrayKvCache cache, int l, int start, int n, float[] out) {
        int hd = c.headDim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int stride = qDim + 2 * kvDim;
        int group = c.numHeads() / c.numKvHeads();
        float scale = (float) (1.0 / Math.sqrt(hd));
        float[] keys = cache.keys[l];
        float[] values = cache.values[l];
        float[] scores = new float[start + n];
        for (int t = 0; t < n; t++) {
            int pos = start + t;
            int first = c.slidingWindow() > 0 ? Math.max(0, pos - c.slidingWindow() + 1) : 0;
            for (int h = 0; h < c.numHeads(); h++) {
                int qAt = t * stride + h * hd;
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
                int oAt = t * qDim + h * hd;
                java.util.Arrays.fill(out, oAt, oAt + hd, 0f);
                for (int j = first; j <= pos; j++) {
                    ops.axpy(scores[j] * inv, values, j * kvDim + kvAt, out, oAt, hd);
                }
            }
        }
    }

    private float[][] logits(float[] x, int n, int numLogits) {
        int d = c.hiddenSize();
        int v = c.vocabSize();
        float[] last = new float[numLogits * d];
        for (int i = 0; i < numLogits; i++) {
            rmsnorm(x, (n - numLogits + i) * d, w.finalNorm, last, i * d, d);
        }
        float[] flat = new float[numLogits * v];
        matmul.matmul(last, numLogits, w.lmHead, null, flat);
        if (numLogits == 1) {
            return new float[][] {flat}; // plain decoding: no copy of a row that can be 128k floats
        }
        float[][] out = new float[numLogits][];
        for (int i = 0; i < numLogits; i++) {
            out[i] = java.util.Arrays.copyOfRange(flat, i * v, (i + 1) * v);
        }
        return out;
    }

    private void rmsnorm(float[] x, float[] weight, float[] out, int n, int d) {
        for (int t = 0; t < n; t++) {
            rmsnorm(x, t * d, weight, out, t * d, d);
        }
    }

    /** x * rsqrt(mean(x^2) + eps) * weight, accumulated in float32 like transformers' LlamaRMSNorm. */
    private void rmsnorm(float[] x, int xAt, float[] weight, float[] out, int outAt, int d) {
        ops.rmsnorm(x, xAt, weight, c.rmsNormEps(), out, outAt, d);
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    /** silu(gate) * up, where each row of gateUp holds gate then up. */
    private static void swiglu(float[] gateUp, float[] out, int n, int ff) {
        for (int t = 0; t < n; t++) {
            int g = t * 2 * ff;
            for (int i = 0; i < ff; i++) {
                float gate = gateUp[g + i];
                float silu = gate / (1f + (float) Math.exp(-gate));
                out[t * ff + i] = silu * gateUp[g + ff + i];
            }
        }
    }

    @Override
    public void close() {
    }
}
