package io.specula.model.llama;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.BaseNDManager;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import io.specula.SpeculaException;
import io.specula.kernel.WeightMatrix;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.model.TensorSource;
import io.specula.model.WeightLoader;

/**
 * The Llama family ({@link LlamaModel}'s math: Llama 2/3.x, Mistral, Qwen2, Qwen3, Phi-3/Phi-4-mini with partial
 * rotary and longrope) on DJL's PyTorch engine, for CUDA GPUs, and on the CPU for comparison or long prefills. Gemma 3
 * is not implemented here ({@link #UNSUPPORTED_GEMMA3}).
 *
 * <p>Weights are uploaded once to the chosen device, as float32, or float16 on a GPU when asked (norms and softmax
 * are then computed in float32, as transformers does): 16-bit checkpoint weights are widened on the host one matrix
 * at a time. BF16 tensors are never created: DJL 0.36 on the CPU aborts the JVM on them. The quantized formats are
 * for the CPU kernels only ({@link LlamaModel}). Each pass is a fixed sequence of fused ops (q|k|v and gate|up are one linear each, q and k are
 * normalised and rotated together, cos/sin come from tables uploaded once, the mask is one tensor shared by all
 * layers), called through {@link JniUtils} directly: DJL's generic {@code NDArray} API would parse indices and
 * box scalars on every call. Keys and values are written into the {@link DjlKvCache} in place.
 *
 * <p>Every intermediate tensor of a pass belongs to a per-call sub-manager (and a per-call {@link NDScope} as a
 * safety net), closed before {@link #forward} returns, so native memory does not grow across requests. Concurrent
 * passes on different caches are safe: they share only read-only weights and constants, and each pass attaches its
 * tensors to its own manager.
 *
 * <p>Why one class of ~450 lines: the DJL forward pass of one architecture in one readable file, as {@link LlamaModel} is
 * for the Java kernels (llama2.c's rule: the math visible in one place).
 */
public final class DjlLlamaModel implements CausalLm {

    /** The engine this model is written against: the ops below are PyTorch's. */
    public static final String ENGINE = "PyTorch";

    /** Why a Gemma 3 model cannot be loaded here, with the settings that choose this path. */
    public static final String UNSUPPORTED_GEMMA3 = "Gemma3ForCausalLM runs on the CPU's Java kernels only: DJL's "
            + "PyTorch engine (chosen by device 'cuda'/'cuda:N', kernel 'djl' or dtype 'float16') does not implement "
            + "its decoder layer (post-norms, GeGLU, interleaved sliding-window layers); load it with device 'cpu' and "
            + "kernel 'auto', 'vector' or 'scalar'";

    private final ModelConfig c;
    private final PtNDManager manager;
    private final Device device;
    private final DataType dtype;
    private final boolean reducedPrecision;
    private final int maxPositions;

    private final PtNDArray embed;       // [vocab, hidden]
    private final PtNDArray finalNorm;   // [hidden]
    private final PtNDArray lmHead;      // [vocab, hidden]; the same tensor as embed when tied
    private final Layer[] layers;
    private final PtNDArray ropeCos;     // [maxPositions, headDim]: cos, cos, then 1 past the rotary dims
    private final PtNDArray ropeSin;     // [maxPositions, headDim]: -sin, sin, then 0 (rotate-half folded in)
    private final PtNDArray longCos;     // the same with longrope's long factors everywhere (Phi-3), or null
    private final PtNDArray longSin;
    private final int ropeHalf;          // half the rotary dimensions (head_dim / 2 unless partial rotary)
    private final PtNDArray eps;         // scalar, float32
    private final PtNDArray scale;       // scalar, compute dtype: 1 / sqrt(headDim)

    private static final class Layer {
        PtNDArray attnNorm;   // [hidden]
        PtNDArray qkv;        // [qDim + 2 kvDim, hidden]
        PtNDArray qkvBias;    // [qDim + 2 kvDim] or null
        PtNDArray qkNorm;     // [heads + kvHeads, headDim]: q_norm repeated per query head, then k_norm (Qwen3), or null
        PtNDArray o;          // [hidden, qDim]
        PtNDArray oBias;      // [hidden] (Llama and Qwen3 with attention_bias) or null
        PtNDArray mlpNorm;    // [hidden]
        PtNDArray gateUp;     // [2 intermediate, hidden]
        PtNDArray down;       // [hidden, intermediate]
    }

    /** Supplies the host weights one group at a time, so a loader can drop each group once it is uploaded. */
    private interface HostWeights {
        WeightMatrix embed();

        float[] finalNorm();

        /** {@code null} when tied to the embedding. */
        WeightMatrix lmHead();

        LlamaWeights.Layer layer(int i);
    }

    /**
     * Uploads already-loaded weights (widened to float32 on the host one matrix at a time: libtorch gets no BF16).
     *
     * @param device where to compute, e.g. {@link Device#cpu()} or {@link Device#gpu()}
     * @param dtype  {@link DataType#FLOAT32}, or {@link DataType#FLOAT16} on a GPU
     */
    public static DjlLlamaModel create(ModelConfig config, LlamaWeights weights, Device device, DataType dtype) {
        requireGpuForHalf(device, dtype);
        return new DjlLlamaModel(config, new HostWeights() {
            @Override
            public WeightMatrix embed() {
                return weights.embed;
            }

            @Override
            public float[] finalNorm() {
                return weights.finalNorm;
            }

            @Override
            public WeightMatrix lmHead() {
                return weights.tied() ? null : weights.lmHead;
            }

            @Override
            public LlamaWeights.Layer layer(int i) {
                return weights.layers[i];
            }
        }, device, dtype, config.maxPositionEmbeddings());
    }

    /**
     * Reads and uploads the weights layer by layer, so the Java heap holds at most the embedding and one layer at a
     * time.
     */
    public static DjlLlamaModel create(ModelConfig config, TensorSource source, Device device, DataType dtype) {
        return create(config, source, device, dtype, config.maxPositionEmbeddings());
    }

    /**
     * As above, for sequences of at most {@code maxPositions} (the configured context; RoPE tables are sized by it,
     * not by max_position_embeddings).
     */
    public static DjlLlamaModel create(ModelConfig config, TensorSource source, Device device, DataType dtype,
                                       int maxPositions) {
        requireGpuForHalf(device, dtype);
        return upload(config, source, device, dtype, maxPositions);
    }

    /**
     * {@link #create(ModelConfig, TensorSource, Device, DataType)} without its check that float16 has a GPU: PyTorch
     * runs float16 on the CPU too, slowly, which only serves to check the float16 code path on machines without one.
     */
    static DjlLlamaModel upload(ModelConfig config, TensorSource source, Device device, DataType dtype) {
        return upload(config, source, device, dtype, config.maxPositionEmbeddings());
    }

    private static DjlLlamaModel upload(ModelConfig config, TensorSource source, Device device, DataType dtype,
                                        int maxPositions) {
        WeightLoader loader = new WeightLoader(source, Quantization.NONE, false);
        boolean tied = config.tieWordEmbeddings() && !source.contains("lm_head.weight");
        return new DjlLlamaModel(config, new HostWeights() {
            @Override
            public WeightMatrix embed() {
                return LlamaWeights.loadEmbedding(config, loader, tied);
            }

            @Override
            public float[] finalNorm() {
                return LlamaWeights.loadFinalNorm(config, loader);
            }

            @Override
            public WeightMatrix lmHead() {
                return tied ? null : LlamaWeights.loadLmHead(config, loader);
            }

            @Override
            public LlamaWeights.Layer layer(int i) {
                return LlamaWeights.loadLayer(config, loader, i);
            }
        }, device, dtype, maxPositions);
    }

    private static void requireGpuForHalf(Device device, DataType dtype) {
        if (dtype == DataType.FLOAT16 && !device.isGpu()) {
            throw new IllegalArgumentException("compute dtype float16 needs a GPU; on " + device + " use float32");
        }
    }

    private DjlLlamaModel(ModelConfig config, HostWeights host, Device device, DataType dtype, int contextLimit) {
        if (config.mlpBias()) {
            throw new SpeculaException("config.json field 'mlp_bias': true is not supported (expected false)");
        }
        if (config.architecture() == ModelConfig.Architecture.GEMMA3) {
            throw new SpeculaException(UNSUPPORTED_GEMMA3);
        }
        if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
            throw new IllegalArgumentException("compute dtype " + dtype + ": expected float32, or float16 on a GPU");
        }
        this.c = config;
        this.dtype = dtype;
        this.reducedPrecision = dtype != DataType.FLOAT32;
        this.maxPositions = Math.min(contextLimit, config.maxPositionEmbeddings());
        Engine engine = Engine.getEngine(ENGINE);
        this.manager = (PtNDManager) engine.newBaseManager(device);
        this.device = manager.getDevice();
        try {
            int d = c.hiddenSize();
            int v = c.vocabSize();
            this.embed = upload(host.embed().toFloats(), v, d);
            WeightMatrix head = host.lmHead();
            this.lmHead = head == null ? embed : upload(head.toFloats(), v, d);
            this.finalNorm = upload(host.finalNorm(), d);
            this.layers = new Layer[c.numLayers()];
            int qkvDim = c.qDim() + 2 * c.kvDim();
            int ff = c.intermediateSize();
            for (int i = 0; i < layers.length; i++) {
                LlamaWeights.Layer h = host.layer(i);
                Layer l = new Layer();
                l.attnNorm = upload(h.attnNorm, d);
                l.qkv = upload(h.qkv.toFloats(), qkvDim, d);
                l.qkvBias = h.qkvBias == null ? null : upload(h.qkvBias, qkvDim);
                if (h.qNorm != null) {
                    l.qkNorm = upload(qkNormTable(h.qNorm, h.kNorm), c.numHeads() + c.numKvHeads(), c.headDim());
                }
                l.o = upload(h.o.toFloats(), d, c.qDim());
                l.oBias = h.oBias == null ? null : upload(h.oBias, d);
                l.mlpNorm = upload(h.mlpNorm, d);
                l.gateUp = upload(h.gateUp.toFloats(), 2 * ff, d);
                l.down = upload(h.down.toFloats(), d, ff);
                layers[i] = l;
            }
            Rope rope = new Rope(config, maxPositions);
            this.ropeHalf = rope.half();
            PtNDArray[] tables = ropeTables(rope, false);
            this.ropeCos = tables[0];
            this.ropeSin = tables[1];
            PtNDArray[] longTables = rope.hasLongFactors() ? ropeTables(rope, true) : null;
            this.longCos = longTables == null ? null : longTables[0];
            this.longSin = longTables == null ? null : longTables[1];
            this.eps = constant(new float[] {config.rmsNormEps()}, DataType.FLOAT32);
            this.scale = constant(new float[] {c.attentionScale()}, dtype);
        } catch (RuntimeException | Error e) {
            manager.close();
            throw e;
        }
    }

    /**
     * Rope's cos and sin as [maxPositions, headDim] tables for {@link #rope}: cos twice then 1 for the dimensions
     * past the rotary ones (partial rotary), -sin, sin then 0.
     */
    private PtNDArray[] ropeTables(Rope rope, boolean allLong) {
        int half = rope.half();
        int hd = c.headDim();
        float[] cosFull = new float[maxPositions * hd];
        float[] sinSigned = new float[maxPositions * hd];
        float[] cos = rope.cosTable(allLong);
        float[] sin = rope.sinTable(allLong);
        for (int p = 0; p < maxPositions; p++) {
            for (int i = 0; i < half; i++) {
                cosFull[p * hd + i] = cos[p * half + i];
                cosFull[p * hd + half + i] = cos[p * half + i];
                sinSigned[p * hd + i] = -sin[p * half + i];
                sinSigned[p * hd + half + i] = sin[p * half + i];
            }
            for (int i = 2 * half; i < hd; i++) {
                cosFull[p * hd + i] = 1f;
            }
        }
        return new PtNDArray[] {upload(cosFull, maxPositions, hd), upload(sinSigned, maxPositions, hd)};
    }

    /** q_norm once per query head, then k_norm once per key head: one norm over [heads + kvHeads, headDim]. */
    private float[] qkNormTable(float[] qNorm, float[] kNorm) {
        int hd = c.headDim();
        float[] out = new float[(c.numHeads() + c.numKvHeads()) * hd];
        for (int h = 0; h < c.numHeads(); h++) {
            System.arraycopy(qNorm, 0, out, h * hd, hd);
        }
        for (int h = 0; h < c.numKvHeads(); h++) {
            System.arraycopy(kNorm, 0, out, (c.numHeads() + h) * hd, hd);
        }
        return out;
    }

    /** A float32 host array as a tensor on the device, in the compute dtype. */
    private PtNDArray upload(float[] data, long... shape) {
        return constant(data, dtype, shape);
    }

    private PtNDArray constant(float[] data, DataType type, long... shape) {
        PtNDArray f32 = (PtNDArray) manager.create(data, new Shape(shape));
        NDScope.unregister(f32);
        if (type == DataType.FLOAT32) {
            return f32;
        }
        PtNDArray converted = JniUtils.to(f32, type, device);
        NDScope.unregister(converted);
        f32.close();
        return converted;
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    /** The longest sequence this model serves (its RoPE tables' length). */
    public int maxPositions() {
        return maxPositions;
    }

    public Device device() {
        return device;
    }

    public DataType dataType() {
        return dtype;
    }

    @Override
    public KvCache newCache(int capacity) {
        CausalLm.checkCacheCapacity(c, capacity, maxPositions);
        return new DjlKvCache(manager, c.numLayers(), c.numKvHeads(), capacity, c.headDim(), dtype,
                c.longRope() != null);
    }

    @Override
    public float[][] forward(int[] tokens, KvCache kvCache, int numLogits) {
        if (!(kvCache instanceof DjlKvCache cache)) {
            throw new IllegalArgumentException("a DjlLlamaModel needs a cache from its own newCache(), got "
                    + (kvCache == null ? "null" : kvCache.getClass().getSimpleName()));
        }
        int n = tokens.length;
        if (numLogits < 0 || numLogits > n) {
            throw new IllegalArgumentException("numLogits " + numLogits + " for " + n + " tokens");
        }
        if (n == 0) {
            return new float[0][];
        }
        for (int id : tokens) {
            if (id < 0 || id >= c.vocabSize()) {
                throw new SpeculaException("token id " + id + " is outside the model's vocabulary 0.." + (c.vocabSize() - 1));
            }
        }
        if (cache.longRope == null) {
            return pass(tokens, cache, numLogits, false);
        }
        return LongRopePasses.forward(tokens, cache, cache.longRope, c.longRope().originalMaxPositionEmbeddings(),
                numLogits, (part, logits, longFactors) -> pass(part, cache, logits, longFactors));
    }

    /** Appends {@code tokens} to the cache, with longrope's long factors when {@code longRope} (else the short ones). */
    private float[][] pass(int[] tokens, DjlKvCache cache, int numLogits, boolean longRope) {
        int n = tokens.length;
        if (n == 0) {
            return new float[0][];
        }
        long[] ids = new long[n];
        for (int t = 0; t < n; t++) {
            ids[t] = tokens[t];
        }
        cache.reserve(n);
        int start = cache.length();
        float[][] out;
        // The scope closes last-in first: the NDScope (every tensor made on this thread) before the sub-manager.
        try (PtNDManager m = (PtNDManager) manager.newSubManager(); NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            out = pass(m, ids, cache, start, numLogits, longRope);
        }
        cache.advance(n);
        return out;
    }

    private float[][] pass(PtNDManager m, long[] ids, DjlKvCache cache, int start, int numLogits, boolean longRope) {
        int n = ids.length;
        int hd = c.headDim();
        int heads = c.numHeads();
        int kvHeads = c.numKvHeads();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int ff = c.intermediateSize();
        int end = start + n;
        int window = c.slidingWindow();
        int firstKey = window > 0 ? Math.max(0, start - window + 1) : 0;
        int keys = end - firstKey;
        int group = heads / kvHeads;

        PtNDArray x = JniUtils.embedding((PtNDArray) m.create(ids), embed, false);                    // [n, d]
        PtNDArray cos = JniUtils.reshape(slice2(longRope ? longCos : ropeCos, start, end, hd, m), new long[] {n, 1, hd});
        PtNDArray sin = JniUtils.reshape(slice2(longRope ? longSin : ropeSin, start, end, hd, m), new long[] {n, 1, hd});
        PtNDArray mask = n > 1 ? mask(m, start, n, firstKey, keys, group) : null;       // [group * n, keys]
        long[] kvMin = {0, start, 0};
        long[] kvMax = {kvHeads, end, hd};
        long[] readMin = {0, firstKey, 0};
        long[] steps = {1, 1, 1};

        for (int li = 0; li < layers.length; li++) {
            Layer l = layers[li];
            PtNDArray h = rmsNorm(x, l.attnNorm);
            PtNDArray qkv = JniUtils.linear(h, l.qkv, l.qkvBias);                         // [n, q + 2 kv]
            PtNDArray qk = JniUtils.reshape(JniUtils.slice(qkv, 1, 0, qDim + kvDim, 1),
                    new long[] {n, heads + kvHeads, hd});
            if (l.qkNorm != null) {
                qk = rmsNorm(qk, l.qkNorm);
            }
            qk = rope(qk, cos, sin, ropeHalf, hd);
            // Keys and values into the cache, in place: [n, kvHeads, hd] -> [kvHeads, n, hd].
            PtNDArray k = JniUtils.transpose(JniUtils.slice(qk, 1, heads, heads + kvHeads, 1), 0, 1);
            PtNDArray v = JniUtils.transpose(JniUtils.reshape(JniUtils.slice(qkv, 1, qDim + kvDim, qDim + 2L * kvDim, 1),
                    new long[] {n, kvHeads, hd}), 0, 1);
            JniUtils.indexSet(cache.keys[li], k, kvMin, kvMax, steps);
            JniUtils.indexSet(cache.values[li], v, kvMin, kvMax, steps);
            PtNDArray kAll = JniUtils.index(cache.keys[li], readMin, kvMax, steps, m);      // [kvHeads, keys, hd]
            PtNDArray vAll = JniUtils.index(cache.values[li], readMin, kvMax, steps, m);
            // Query heads grouped by the key head they share: [n, heads, hd] -> [kvHeads, group * n, hd].
            PtNDArray q = JniUtils.reshape(JniUtils.transpose(JniUtils.slice(qk, 1, 0, heads, 1), 0, 1),
                    new long[] {kvHeads, (long) group * n, hd});
            PtNDArray scores = JniUtils.mul(JniUtils.matmul(q, JniUtils.transpose(kAll, 1, 2)), scale);
            if (mask != null) {
                JniUtils.addi(scores, mask);
            }
            PtNDArray p = JniUtils.softmax(scores, -1, DataType.FLOAT32);
            if (reducedPrecision) {
                p = JniUtils.to(p, dtype, device);
            }
            PtNDArray attn = JniUtils.matmul(p, vAll);                                     // [kvHeads, group * n, hd]
            attn = JniUtils.reshape(JniUtils.transpose(JniUtils.reshape(attn, new long[] {heads, n, hd}), 0, 1),
                    new long[] {n, qDim});
            JniUtils.addi(x, JniUtils.linear(attn, l.o, l.oBias));

            h = rmsNorm(x, l.mlpNorm);
            PtNDArray gateUp = JniUtils.linear(h, l.gateUp, null);                        // [n, 2 ff]
            PtNDArray gate = JniUtils.slice(gateUp, 1, 0, ff, 1);
            PtNDArray act = JniUtils.mul(JniUtils.mul(gate, JniUtils.sigmoid(gate)), JniUtils.slice(gateUp, 1, ff, 2L * ff, 1));
            JniUtils.addi(x, JniUtils.linear(act, l.down, null));
        }
        if (numLogits == 0) {
            return new float[0][];
        }
        PtNDArray last = numLogits == n ? x : JniUtils.slice(x, 0, n - numLogits, n, 1);
        PtNDArray logits = JniUtils.linear(rmsNorm(last, finalNorm), lmHead, null);       // [numLogits, vocab]
        if (reducedPrecision) {
            logits = JniUtils.to(logits, DataType.FLOAT32, device);
        }
        float[] flat = logits.toFloatArray();
        int vocab = c.vocabSize();
        float[][] out = new float[numLogits][];
        for (int i = 0; i < numLogits; i++) {
            out[i] = java.util.Arrays.copyOfRange(flat, i * vocab, (i + 1) * vocab);
        }
        return out;
    }

    /** Rows [from, to) of a 2-D constant, attached to the per-call manager (not the constant's). */
    private static PtNDArray slice2(PtNDArray table, int from, int to, int cols, PtNDManager m) {
        return JniUtils.index(table, new long[] {from, 0}, new long[] {to, cols}, new long[] {1, 1}, m);
    }

    /**
     * x * rsqrt(mean(x^2) + eps) * weight over the last axis, in float32 like transformers' LlamaRMSNorm (the
     * normalised value is cast back to the compute dtype before the weight).
     */
    private PtNDArray rmsNorm(PtNDArray x, PtNDArray weight) {
        PtNDArray xf = reducedPrecision ? JniUtils.to(x, DataType.FLOAT32, device) : x;
        PtNDArray meanSquare = JniUtils.mean(JniUtils.square(xf), -1, true);
        PtNDArray normed = JniUtils.div(xf, JniUtils.sqrt(JniUtils.add(meanSquare, eps)));
        if (reducedPrecision) {
            normed = JniUtils.to(normed, dtype, device);
        }
        return JniUtils.mul(normed, weight);
    }

    /**
     * Rotate-half RoPE on [n, heads, hd]: x * cos + cat(x2, x1) * sin, with the sign of the first half folded into
     * the sin table, so out1 = x1 cos - x2 sin and out2 = x2 cos + x1 sin, as in {@link Rope#rotate}; dimensions
     * past 2 * half (partial rotary) meet cos 1 and sin 0 and pass unchanged.
     */
    private static PtNDArray rope(PtNDArray x, PtNDArray cos, PtNDArray sin, int half, int hd) {
        PtNDArray[] parts = 2 * half == hd
                ? new PtNDArray[] {JniUtils.slice(x, 2, half, 2L * half, 1), JniUtils.slice(x, 2, 0, half, 1)}
                : new PtNDArray[] {JniUtils.slice(x, 2, half, 2L * half, 1), JniUtils.slice(x, 2, 0, half, 1),
                        JniUtils.slice(x, 2, 2L * half, hd, 1)};
        PtNDArray swapped = JniUtils.cat(parts, 2);
        PtNDArray rotated = JniUtils.mul(x, cos);
        JniUtils.addi(rotated, JniUtils.mul(swapped, sin));
        return rotated;
    }

    /**
     * The additive causal (and sliding-window) mask of a multi-position pass, [group * n, keys]: row g * n + t is
     * query position start + t of any head in the group, column j is key position firstKey + j.
     */
    private PtNDArray mask(PtNDManager m, int start, int n, int firstKey, int keys, int group) {
        int window = c.slidingWindow();
        float[] mask = new float[group * n * keys];
        for (int t = 0; t < n; t++) {
            int pos = start + t;
            int first = window > 0 ? Math.max(0, pos - window + 1) : 0;
            for (int j = 0; j < keys; j++) {
                int key = firstKey + j;
                float value = key > pos || key < first ? Float.NEGATIVE_INFINITY : 0f;
                for (int g = 0; g < group; g++) {
                    mask[(g * n + t) * keys + j] = value;
                }
            }
        }
        PtNDArray f32 = (PtNDArray) m.create(mask, new Shape((long) group * n, keys));
        return reducedPrecision ? JniUtils.to(f32, dtype, device) : f32;
    }

    /** NDArrays currently attached to this model's manager tree (weights, constants, caches, anything leaked). */
    public int liveArrays() {
        return ((BaseNDManager) manager).getManagedArrays().size();
    }

    @Override
    public void close() {
        manager.close();
    }
}
