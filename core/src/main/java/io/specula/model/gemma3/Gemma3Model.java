package io.specula.model.gemma3;

import io.specula.SpeculaException;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.Ops;
import io.specula.model.JavaKernelModel;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.WeightsSummary;
import io.specula.model.llama.ArrayKvCache;
import io.specula.model.llama.Attention;
import io.specula.model.llama.Rope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;

/**
 * Gemma 3 (text-only, {@code Gemma3ForCausalLM}) on the CPU, in plain Java, as transformers 5.12.1 computes it:
 *
 * <pre>
 *   x = embed(tokens) * sqrt(hidden)                               (the scale in float32, the engine's compute dtype)
 *   per layer, sliding-window (local) or global by layer_types:
 *     h = x + norm_post_attn(o_proj(attention(rope(norm_q(q)), rope(norm_k(k)), v)))   q|k|v = qkv(norm_in(x))
 *         scores scaled by query_pre_attn_scalar^-0.5; local layers: window and rope_local_base_freq;
 *         global layers: the whole context and rope_theta (with rope_scaling's linear factor, if any)
 *     x = h + norm_post_mlp(down_proj(gelu_tanh(gate) * up))       gate|up = gate_up(norm_pre_mlp(h))
 *   logits = lm_head(norm(x)), then cap * tanh(logits / cap) when final_logit_softcapping is set
 * </pre>
 *
 * Every norm is Gemma's RMSNorm, {@code x * rsqrt(mean(x^2) + eps) * (1 + w)} ({@link Gemma3Weights} stores 1 + w).
 * {@code attn_logit_softcapping} is read but not applied: transformers 5.12.1's Gemma3Attention does not pass it to
 * any attention implementation (Gemma 3's checkpoints set it to null; Gemma 2 used it), and the golden files show it.
 *
 * <p>The kernels, the KV cache, RoPE and the attention are the Llama family's ({@link Attention}, {@link Rope},
 * {@link ArrayKvCache}); the local layers keep every position in the cache too, so a speculative rollback across
 * the window's edge is exact.
 */
public final class Gemma3Model implements JavaKernelModel {

    private static final Logger log = LoggerFactory.getLogger(Gemma3Model.class);
    /** sqrt(2 / pi), as PyTorch's tanh-GELU computes it in float32 (kBeta = M_SQRT2 * M_2_SQRTPI * 0.5). */
    private static final float GELU_BETA = (float) (Math.sqrt(2) * (2 / Math.sqrt(Math.PI)) * 0.5);
    private static final float GELU_KAPPA = 0.044715f;

    private final ModelConfig c;
    private final Gemma3Weights w;
    private final MatMul matmul;
    private final Ops ops;
    private final Rope localRope;
    private final Rope globalRope;
    private final Attention attention;
    private final float embedScale;
    private final int maxPositions;

    public Gemma3Model(ModelConfig config, Gemma3Weights weights, MatMul matmul) {
        this(config, weights, matmul, MatMuls.opsForName(matmul.name()));
    }

    public Gemma3Model(ModelConfig config, Gemma3Weights weights, MatMul matmul, Ops ops) {
        this(config, weights, matmul, ops, config.maxPositionEmbeddings());
    }

    /** For sequences of at most {@code contextLimit} positions: RoPE tables are sized by it. */
    public Gemma3Model(ModelConfig config, Gemma3Weights weights, MatMul matmul, Ops ops, int contextLimit) {
        if (config.architecture() != ModelConfig.Architecture.GEMMA3) {
            throw new SpeculaException("Gemma3Model computes Gemma3ForCausalLM, not "
                    + config.architecture().className());
        }
        if (config.attnLogitSoftcapping() > 0) {
            log.warn("config.json field 'attn_logit_softcapping' ({}) is not applied, as transformers 5.12.1's Gemma 3 "
                    + "does not apply it", config.attnLogitSoftcapping());
        }
        this.c = config;
        this.w = weights;
        this.matmul = matmul;
        this.ops = ops;
        this.maxPositions = Math.min(contextLimit, config.maxPositionEmbeddings());
        this.localRope = Rope.local(config, maxPositions);
        this.globalRope = new Rope(config, maxPositions);
        this.attention = new Attention(config, ops);
        // Gemma3TextScaledWordEmbedding: torch.tensor(hidden_size ** 0.5) cast to the weights' dtype, which is the
        // compute dtype; here float32 (transformers in bfloat16 would round sqrt(1152) = 33.94 to 34.0).
        this.embedScale = (float) Math.sqrt(config.hiddenSize());
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
        int ff = c.intermediateSize();
        float[] x = embed(tokens);
        float[] xn = new float[n * d];
        float[] qkv = new float[n * (c.qDim() + 2 * c.kvDim())];
        float[] attn = new float[n * c.qDim()];
        float[] proj = new float[n * d];
        float[] gateUp = new float[n * 2 * ff];
        float[] act = new float[n * ff];
        for (int l = 0; l < w.layers.length; l++) {
            Gemma3Weights.Layer layer = w.layers[l];
            boolean local = c.windowOf(l) > 0;
            rmsnorm(x, layer.inputNorm, xn, n, d);
            matmul.matmul(xn, n, layer.qkv, layer.qkvBias, qkv);
            storeKeysValues(layer, qkv, cache, l, start, n, local ? localRope : globalRope);
            attention.attend(qkv, cache, l, start, n, c.windowOf(l), c.attentionScale(), attn);
            matmul.matmul(attn, n, layer.o, layer.oBias, proj);
            rmsnorm(proj, layer.postAttnNorm, proj, n, d);
            add(x, proj);
            rmsnorm(x, layer.preMlpNorm, xn, n, d);
            matmul.matmul(xn, n, layer.gateUp, null, gateUp);
            geglu(gateUp, act, n, ff);
            matmul.matmul(act, n, layer.down, null, proj);
            rmsnorm(proj, layer.postMlpNorm, proj, n, d);
            add(x, proj);
        }
        cache.advance(n);
        return logits(x, n, numLogits);
    }

    /** Embedding rows times sqrt(hidden). */
    private float[] embed(int[] tokens) {
        int d = c.hiddenSize();
        float[] x = new float[tokens.length * d];
        for (int t = 0; t < tokens.length; t++) {
            int id = tokens[t];
            if (id < 0 || id >= c.vocabSize()) {
                throw new SpeculaException("token id " + id + " is outside the model's vocabulary 0.." + (c.vocabSize() - 1));
            }
            w.embed.row(id, x, t * d);
        }
        for (int i = 0; i < x.length; i++) {
            x[i] *= embedScale;
        }
        return x;
    }

    /** q/k norms per head and RoPE (the layer's own), then this layer's keys and values into the cache. */
    private void storeKeysValues(Gemma3Weights.Layer layer, float[] qkv, ArrayKvCache cache, int l, int start, int n,
                                 Rope rope) {
        int hd = c.headDim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int stride = qDim + 2 * kvDim;
        for (int t = 0; t < n; t++) {
            int row = t * stride;
            int pos = start + t;
            for (int h = 0; h < c.numHeads(); h++) {
                rmsnorm(qkv, row + h * hd, layer.qNorm, qkv, row + h * hd, hd);
            }
            for (int h = 0; h < c.numKvHeads(); h++) {
                rmsnorm(qkv, row + qDim + h * hd, layer.kNorm, qkv, row + qDim + h * hd, hd);
            }
            rope.rotate(qkv, row, c.numHeads(), hd, pos, false);
            rope.rotate(qkv, row + qDim, c.numKvHeads(), hd, pos, false);
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
        float cap = (float) c.finalLogitSoftcapping();
        if (cap > 0) {
            for (int i = 0; i < flat.length; i++) {
                flat[i] = (float) Math.tanh(flat[i] / cap) * cap;
            }
        }
        float[][] out = new float[numLogits][];
        for (int i = 0; i < numLogits; i++) {
            out[i] = Arrays.copyOfRange(flat, i * v, (i + 1) * v);
        }
        return out;
    }

    private void rmsnorm(float[] x, float[] weight, float[] out, int n, int d) {
        for (int t = 0; t < n; t++) {
            rmsnorm(x, t * d, weight, out, t * d, d);
        }
    }

    /** x * rsqrt(mean(x^2) + eps) * (1 + w), in float32 like Gemma3RMSNorm ({@code weight} holds 1 + w). */
    private void rmsnorm(float[] x, int xAt, float[] weight, float[] out, int outAt, int d) {
        ops.rmsnorm(x, xAt, weight, c.rmsNormEps(), out, outAt, d);
    }

    private static void add(float[] x, float[] y) {
        for (int i = 0; i < x.length; i++) {
            x[i] += y[i];
        }
    }

    /**
     * gelu_tanh(gate) * up, where each row of gateUp holds gate then up; PyTorch's tanh GELU in float32:
     * {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}.
     */
    private static void geglu(float[] gateUp, float[] out, int n, int ff) {
        for (int t = 0; t < n; t++) {
            int g = t * 2 * ff;
            for (int i = 0; i < ff; i++) {
                float x = gateUp[g + i];
                float inner = GELU_BETA * (x + GELU_KAPPA * (x * x * x));
                float gelu = 0.5f * x * (1f + (float) Math.tanh(inner));
                out[t * ff + i] = gelu * gateUp[g + ff + i];
            }
        }
    }

    @Override
    public void close() {
    }
}
