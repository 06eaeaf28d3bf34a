package io.specula.model.llama;

import io.specula.SpeculaException;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.Ops;
import io.specula.model.BatchedCausalLm;
import io.specula.model.JavaKernelModel;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.WeightsSummary;

import java.util.List;

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
 *
 * <p>Several sequences can share one pass ({@link BatchedCausalLm}: continuous batching): their new positions are
 * concatenated through every linear layer, while RoPE, the KV writes and attention run per sequence over its own
 * cache. A longrope model (Phi-3) is the exception: its passes pick RoPE factors per sequence and may re-rotate a
 * sequence's cache ({@link LongRopePasses}), so it keeps one sequence per pass ({@link #sharesPasses()} is false).
 */
public final class LlamaModel implements JavaKernelModel, BatchedCausalLm {

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
        CausalLm.checkCacheCapacity(c, capacity, maxPositions);
        return new ArrayKvCache(c.numLayers(), capacity, c.kvDim(), c.longRope() != null);
    }

    /** False for a longrope model: its passes run one sequence at a time (see the class comment). */
    @Override
    public boolean sharesPasses() {
        return c.longRope() == null;
    }

    @Override
    public float[][] forward(int[] tokens, KvCache kvCache, int numLogits) {
        ArrayKvCache cache = (ArrayKvCache) kvCache;
        int n = tokens.length;
        if (numLogits < 0 || numLogits > n) {
            throw new IllegalArgumentException("numLogits " + numLogits + " for " + n + " tokens");
        }
        if (cache.longRope == null) {
            return pass(List.of(new Segment(tokens, cache, numLogits)), false)[0];
        }
        return LongRopePasses.forward(tokens, cache, cache.longRope, c.longRope().originalMaxPositionEmbeddings(),
                numLogits, (part, logits, longFactors) ->
                        pass(List.of(new Segment(part, cache, logits)), longFactors)[0]);
    }

    /**
     * One pass over the new positions of every segment ({@link #pass}). A longrope model runs the segments one after
     * another, each as its own {@link #forward(int[], KvCache, int)}, after checking them all.
     */
    @Override
    public float[][][] forward(List<Segment> segments) {
        if (c.longRope() == null) {
            return pass(segments, false);
        }
        check(segments);
        float[][][] out = new float[segments.size()][][];
        for (int i = 0; i < out.length; i++) {
            Segment s = segments.get(i);
            out[i] = forward(s.tokens(), s.cache(), s.numLogits());
        }
        return out;
    }

    /** Every segment's cache is a different one and its token ids are in the vocabulary; returns the caches. */
    private ArrayKvCache[] check(List<Segment> segments) {
        ArrayKvCache[] caches = new ArrayKvCache[segments.size()];
        for (int i = 0; i < caches.length; i++) {
            Segment s = segments.get(i);
            caches[i] = (ArrayKvCache) s.cache();
            for (int j = 0; j < i; j++) {
                if (caches[j] == caches[i]) {
                    throw new IllegalArgumentException("segments " + j + " and " + i + " share one KV cache");
                }
            }
            checkTokens(s.tokens());
        }
        return caches;
    }

    /**
     * Appends each segment's tokens to its cache, with longrope's long factors when {@code longRope} (else the short
     * ones), in one pass over their positions concatenated: each linear layer is one kernel call over all of them
     * (the weights read once), while RoPE, the KV cache writes and attention run per segment over its own cache. Every
     * segment is checked and its cache given room before any work, so an error leaves every cache as it was.
     */
    private float[][][] pass(List<Segment> segments, boolean longRope) {
        int count = segments.size();
        ArrayKvCache[] caches = check(segments);
        int[] starts = new int[count];
        int[] rows = new int[count + 1]; // segment i holds rows [rows[i], rows[i + 1]) of the pass
        for (int i = 0; i < count; i++) {
            int len = segments.get(i).tokens().length;
            caches[i].reserve(len); // may grow the cache's arrays: read them through keys(l)/values(l) from here on
            starts[i] = caches[i].length();
            rows[i + 1] = rows[i] + len;
        }
        int n = rows[count];
        int d = c.hiddenSize();
        float[] x = new float[n * d];
        for (int i = 0; i < count; i++) {
            embed(segments.get(i).tokens(), x, rows[i] * d);
        }
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
            for (int i = 0; i < count; i++) {
                int len = rows[i + 1] - rows[i];
                storeKeysValues(layer, qkv, rows[i], caches[i], l, starts[i], len, longRope);
                attention.attend(qkv, rows[i], caches[i], l, starts[i], len, c.windowOf(l), c.attentionScale(), attn);
            }
            matmul.matmul(attn, n, layer.o, layer.oBias, proj);
            add(x, proj);
            rmsnorm(x, layer.mlpNorm, xn, n, d);
            matmul.matmulSwiglu(xn, n, layer.gateUp, gateUp, act);
            matmul.matmul(act, n, layer.down, null, proj);
            add(x, proj);
        }
        for (int i = 0; i < count; i++) {
            caches[i].advance(rows[i + 1] - rows[i]);
        }
        return logits(x, segments, rows);
    }

    private void checkTokens(int[] tokens) {
        for (int id : tokens) {
            if (id < 0 || id >= c.vocabSize()) {
                throw new SpeculaException("token id " + id + " is outside the model's vocabulary 0.." + (c.vocabSize() - 1));
            }
        }
    }

    private void embed(int[] tokens, float[] x, int at) {
        int d = c.hiddenSize();
        for (int t = 0; t < tokens.length; t++) {
            w.embed.row(tokens[t], x, at + t * d); // one row widened or dequantized per token
        }
    }

    /**
     * Applies q/k norms (Qwen3) and RoPE to one segment's rows ({@code row0 ..} of the pass), then writes this layer's
     * keys and values in place.
     */
    private void storeKeysValues(LlamaWeights.Layer layer, float[] qkv, int row0, ArrayKvCache cache, int l, int start,
                                 int n, boolean longRope) {
        int hd = c.headDim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int stride = qDim + 2 * kvDim;
        float[] keys = cache.keys(l);
        float[] values = cache.values(l);
        for (int t = 0; t < n; t++) {
            int row = (row0 + t) * stride;
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
            System.arraycopy(qkv, row + qDim, keys, pos * kvDim, kvDim);
            System.arraycopy(qkv, row + qDim + kvDim, values, pos * kvDim, kvDim);
        }
    }

    /** The final norm and the output projection over the wanted rows of every segment, in one kernel call. */
    private float[][][] logits(float[] x, List<Segment> segments, int[] rows) {
        int d = c.hiddenSize();
        int v = c.vocabSize();
        int wanted = 0;
        for (Segment s : segments) {
            wanted += s.numLogits();
        }
        float[] last = new float[wanted * d];
        int k = 0;
        for (int i = 0; i < segments.size(); i++) {
            int numLogits = segments.get(i).numLogits();
            for (int j = 0; j < numLogits; j++, k++) {
                rmsnorm(x, (rows[i + 1] - numLogits + j) * d, w.finalNorm, last, k * d, d);
            }
        }
        float[] flat = new float[wanted * v];
        matmul.matmul(last, wanted, w.lmHead, null, flat);
        float[][][] out = new float[segments.size()][][];
        if (wanted == 1 && segments.size() == 1) {
            out[0] = new float[][] {flat}; // plain decoding: no copy of a row that can be 128k floats
            return out;
        }
        k = 0;
        for (int i = 0; i < segments.size(); i++) {
            out[i] = new float[segments.get(i).numLogits()][];
            for (int j = 0; j < out[i].length; j++, k++) {
                out[i][j] = java.util.Arrays.copyOfRange(flat, k * v, (k + 1) * v);
            }
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

    @Override
    public void close() {
    }
}
