package io.specula.model.llama;

import io.specula.SpeculaException;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.Ops;
import io.specula.model.JavaKernelModel;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.WeightsSummary;

/**
 * The Llama family on the CPU, in plain Java: Llama 2 and 3.x, Mistral, Qwen2 (q/k/v biases), Qwen3 (q/k norms) and
 * Phi-3/Phi-4-mini (the same decoder: its fused qkv_proj and gate_up_proj tensors are what {@link LlamaWeights}
 * fuses for the others; partial rotary and longrope live in {@link Rope}). Pre-norm decoder layers with grouped-query
 * attention ({@link Attention}), RMSNorm, rotate-half RoPE and a SwiGLU MLP:
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
public final class LlamaModel implements JavaKernelModel {

    private final ModelConfig c;
    private final LlamaWeights w;
    private final MatMul matmul;
    private final Ops ops;
    private final Rope rope;
    private final Attention attention;
    private final int maxPositions;

    /** With the per-token operations that go with the kernel (vector or scalar). */
    public LlamaModel(ModelConfig config, LlamaWeights weights, MatMul matmul) {
        this(config, weights, matmul, MatMuls.opsForName(matmul.name()));
    }

    public LlamaModel(ModelConfig config, LlamaWeights weights, MatMul matmul, Ops ops) {
        this(config, weights, matmul, ops, config.maxPositionEmbeddings());
    }

    /**
     * For sequences of at most {@code maxPositions} (the configured context): RoPE tables are sized by it, not by
     * max_position_embeddings.
     */
    public LlamaModel(ModelConfig config, LlamaWeights weights, MatMul matmul, Ops ops, int contextLimit) {
        if (config.mlpBias()) {
            throw new SpeculaException("config.json field 'mlp_bias': true is not supported (expected false)");
        }
        if (config.architecture() == ModelConfig.Architecture.GEMMA3) {
            throw new SpeculaException("Gemma3ForCausalLM has its own decoder layer: load it as a Gemma3Model");
        }
        this.c = config;
        this.w = weights;
        this.matmul = matmul;
        this.ops = ops;
        this.maxPositions = Math.min(contextLimit, config.maxPositionEmbeddings());
        this.rope = new Rope(config, maxPositions);
        this.attention = new Attention(config, ops);
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public MatMul kernel() {
        return matmul;
    }

    @Override
    public int maxPositions() {
        return maxPositions;
    }

    @Override
    public Ops ops() {
        return ops;
    }

    @Override
    public WeightsSummary weights() {
        return w.summary();
    }

    @Override
    public KvCache newCache(int capacity) {
        if (capacity < 1 || capacity > maxPositions) {
            throw new SpeculaException("context: a sequence of " + capacity + " positions was asked for, the model '"
                    + c.architecture().className() + "' supports 1.." + maxPositions + " (max_position_embeddings)");
        }
        return new ArrayKvCache(c.numLayers(), capacity, c.kvDim(), c.longRope() != null);
    }

    @Override
    public float[][] forward(int[] tokens, KvCache kvCache, int numLogits) {
        ArrayKvCache cache = (ArrayKvCache) kvCache;
        int n = tokens.length;
        if (numLogits < 0 || numLogits > n) {
            throw new IllegalArgumentException("numLogits " + numLogits + " for " + n + " tokens");
        }
        if (cache.longRope == null) {
            return pass(tokens, cache, numLogits, false);
        }
        return LongRopePasses.forward(tokens, cache, cache.longRope, c.longRope().originalMaxPositionEmbeddings(),
                numLogits, (part, logits, longFactors) -> pass(part, cache, logits, longFactors));
    }

    /** Appends {@code tokens} to the cache, with longrope's long factors when {@code longRope} (else the short ones). */
    private float[][] pass(int[] tokens, ArrayKvCache cache, int numLogits, boolean longRope) {
        int n = tokens.length;
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
            storeKeysValues(layer, qkv, cache, l, start, n, longRope);
            attention.attend(qkv, cache, l, start, n, c.windowOf(l), c.attentionScale(), attn);
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
    private void storeKeysValues(LlamaWeights.Layer layer, float[] qkv, ArrayKvCache cache, int l, int start, int n,
                                 boolean longRope) {
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
            rope.rotate(qkv, row, c.numHeads(), hd, pos, longRope);
            rope.rotate(qkv, row + qDim, c.numKvHeads(), hd, pos, longRope);
            System.arraycopy(qkv, row + qDim, cache.keys(l), pos * kvDim, kvDim);
            System.arraycopy(qkv, row + qDim + kvDim, cache.values(l), pos * kvDim, kvDim);
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
