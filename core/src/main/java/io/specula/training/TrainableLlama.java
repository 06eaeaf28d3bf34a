package io.specula.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A Llama model as DJL arrays, for training with autograd. The forward pass is the same math as
 * {@link io.specula.model.llama.LlamaModel}: RMSNorm, rotate-half RoPE with float32 frequencies, causal grouped-query
 * attention, a SwiGLU MLP and tied or untied output embeddings; the parameters carry the Hugging Face names and
 * shapes ([out][in] matrices), so exporting them is copying them out.
 *
 * <p>Only float32 arrays are made (DJL aborts on BF16 on the CPU).
 */
public final class TrainableLlama implements AutoCloseable {

    private final ModelShape shape;
    private final NDManager manager;
    private final LinkedHashMap<String, NDArray> params;
    private final NDArray cos;   // [maxPositions][headDim/2]
    private final NDArray sin;
    private final Map<Integer, NDArray[]> perLength = new HashMap<>(); // causal mask, cos, sin for T positions

    private TrainableLlama(ModelShape shape, NDManager manager, LinkedHashMap<String, NDArray> params) {
        this.shape = shape;
        this.manager = manager;
        this.params = params;
        float[][] tables = ropeTables(shape);
        int half = shape.headDim() / 2;
        this.cos = manager.create(tables[0], new Shape(shape.maxPositions(), half));
        this.sin = manager.create(tables[1], new Shape(shape.maxPositions(), half));
        ai.djl.ndarray.NDScope.unregister(cos, sin);
    }

    /** Parameter names and shapes in Hugging Face order (embeddings, then each layer, then the final norm and head). */
    public static LinkedHashMap<String, long[]> parameterShapes(ModelShape s) {
        LinkedHashMap<String, long[]> out = new LinkedHashMap<>();
        long d = s.hiddenSize();
        out.put("model.embed_tokens.weight", new long[] {s.vocabSize(), d});
        for (int i = 0; i < s.numLayers(); i++) {
            String p = "model.layers." + i + ".";
            out.put(p + "input_layernorm.weight", new long[] {d});
            out.put(p + "self_attn.q_proj.weight", new long[] {s.qDim(), d});
            out.put(p + "self_attn.k_proj.weight", new long[] {s.kvDim(), d});
            out.put(p + "self_attn.v_proj.weight", new long[] {s.kvDim(), d});
            out.put(p + "self_attn.o_proj.weight", new long[] {d, s.qDim()});
            out.put(p + "post_attention_layernorm.weight", new long[] {d});
            out.put(p + "mlp.gate_proj.weight", new long[] {s.intermediateSize(), d});
            out.put(p + "mlp.up_proj.weight", new long[] {s.intermediateSize(), d});
            out.put(p + "mlp.down_proj.weight", new long[] {d, s.intermediateSize()});
        }
        out.put("model.norm.weight", new long[] {d});
        if (!s.tieWordEmbeddings()) {
            out.put("lm_head.weight", new long[] {s.vocabSize(), d});
        }
        return out;
    }

    /**
     * A fresh model: norms at one, every matrix normal with standard deviation 0.02, and the two projections that
     * write into the residual stream (o_proj, down_proj) scaled down by sqrt(2 * layers), as in GPT-2. Seeded, and
     * drawn in Java, so the same seed gives the same model on every machine.
     */
    public static Map<String, SafeTensorsFiles.Tensor> initialWeights(ModelShape s, long seed) {
        Map<String, SafeTensorsFiles.Tensor> out = new LinkedHashMap<>();
        double residualStd = 0.02 / Math.sqrt(2.0 * s.numLayers());
        for (Map.Entry<String, long[]> e : parameterShapes(s).entrySet()) {
            String name = e.getKey();
            long[] dims = e.getValue();
            int n = (int) java.util.Arrays.stream(dims).reduce(1, (a, b) -> a * b);
            float[] v = new float[n];
            if (name.endsWith("norm.weight")) {
                java.util.Arrays.fill(v, 1f);
            } else {
                SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + name.hashCode());
                double std = name.endsWith("o_proj.weight") || name.endsWith("down_proj.weight") ? residualStd : 0.02;
                for (int i = 0; i < n; i++) {
                    v[i] = (float) (std * gaussian(r));
                }
            }
            out.put(name, new SafeTensorsFiles.Tensor(dims, v));
        }
        return out;
    }

    private static double gaussian(SplittableRandom r) {
        // Box-Muller; SplittableRandom has no nextGaussian on Java 17.
        double u = 1.0 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** A model holding the given weights (names and shapes checked), in arrays of {@code manager}. */
    public static TrainableLlama of(ModelShape s, Map<String, SafeTensorsFiles.Tensor> weights, NDManager manager) {
        LinkedHashMap<String, NDArray> params = new LinkedHashMap<>();
        for (Map.Entry<String, long[]> e : parameterShapes(s).entrySet()) {
            SafeTensorsFiles.Tensor t = weights.get(e.getKey());
            if (t == null) {
                throw new IllegalArgumentException("weight '" + e.getKey() + "' is missing");
            }
            if (!java.util.Arrays.equals(t.shape(), e.getValue())) {
                throw new IllegalArgumentException("weight '" + e.getKey() + "' has shape "
                        + java.util.Arrays.toString(t.shape()) + ", expected " + java.util.Arrays.toString(e.getValue()));
            }
            NDArray a = manager.create(t.data(), new Shape(t.shape()));
            ai.djl.ndarray.NDScope.unregister(a);
            a.setName(e.getKey());
            params.put(e.getKey(), a);
        }
        return new TrainableLlama(s, manager, params);
    }

    public ModelShape shape() {
        return shape;
    }

    /** The parameters by Hugging Face name, in order. */
    public Map<String, NDArray> parameters() {
        return params;
    }

    /** Turns on gradients for every parameter (a model that is only run, like a distillation teacher, skips this). */
    public void trainable() {
        for (NDArray p : params.values()) {
            p.setRequiresGradient(true);
        }
    }

    /** The weights copied out to Java arrays. */
    public Map<String, SafeTensorsFiles.Tensor> weights() {
        Map<String, SafeTensorsFiles.Tensor> out = new LinkedHashMap<>();
        params.forEach((name, a) -> out.put(name, new SafeTensorsFiles.Tensor(a.getShape().getShape(), a.toFloatArray())));
        return out;
    }

    /**
     * Logits [batch][positions][vocab] for token ids [batch][positions] (int64), each sequence starting at position
     * 0. The intermediate arrays belong to the ids' manager (or the current NDScope).
     */
    public NDArray forward(NDArray ids) {
        return forward(ids, Dropout.NONE);
    }

    /**
     * The forward pass with dropout at rate {@code dropout} on the embeddings and on each attention and MLP output
     * before it joins the residual stream (GPT-2's resid_pdrop); 0 for evaluation. The masks are drawn in Java from
     * {@code dropoutSeed} alone, not from libtorch's process-wide generator: anything else in the process may draw from
     * that one, so a resumed run could not replay a step's masks exactly (seen: a resume test drifting by 0.035 in
     * loss once). Same seed, same masks, whatever the thread count.
     */
    public NDArray forward(NDArray ids, float dropout, long dropoutSeed) {
        return forward(ids, new Dropout(dropout, dropoutSeed));
    }

    private NDArray forward(NDArray ids, Dropout dropout) {
        long b = ids.getShape().get(0);
        int t = (int) ids.getShape().get(1);
        if (t > shape.maxPositions()) {
            throw new IllegalArgumentException(t + " positions exceed the model's " + shape.maxPositions());
        }
        int h = shape.numHeads();
        int kvh = shape.numKvHeads();
        int hd = shape.headDim();
        NDArray embed = params.get("model.embed_tokens.weight");
        NDArray x = dropout.apply(ids.getNDArrayInternal().embedding(ids, embed, SparseFormat.DENSE).singletonOrThrow());
        NDArray[] tables = tables(t);
        NDArray mask = tables[0];
        NDArray c = tables[1];
        NDArray s = tables[2];
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int l = 0; l < shape.numLayers(); l++) {
            String p = "model.layers." + l + ".";
            NDArray xn = rmsnorm(x, params.get(p + "input_layernorm.weight"));
            NDArray q = linear(xn, params.get(p + "self_attn.q_proj.weight")).reshape(b, t, h, hd).transpose(0, 2, 1, 3);
            NDArray k = linear(xn, params.get(p + "self_attn.k_proj.weight")).reshape(b, t, kvh, hd).transpose(0, 2, 1, 3);
            NDArray v = linear(xn, params.get(p + "self_attn.v_proj.weight")).reshape(b, t, kvh, hd).transpose(0, 2, 1, 3);
            q = rope(q, c, s);
            k = rope(k, c, s);
            if (kvh != h) {
                // Query head i reads key/value head i / group, as transformers' repeat_kv.
                k = k.repeat(1, h / kvh);
                v = v.repeat(1, h / kvh);
            }
            NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).muli(scale).addi(mask);
            NDArray attn = scores.softmax(3).matMul(v).transpose(0, 2, 1, 3).reshape(b, t, (long) h * hd);
            x = x.add(dropout.apply(linear(attn, params.get(p + "self_attn.o_proj.weight"))));
            NDArray hn = rmsnorm(x, params.get(p + "post_attention_layernorm.weight"));
            NDArray gate = linear(hn, params.get(p + "mlp.gate_proj.weight"));
            NDArray up = linear(hn, params.get(p + "mlp.up_proj.weight"));
            NDArray act = gate.mul(gate.getNDArrayInternal().sigmoid()).mul(up);
            x = x.add(dropout.apply(linear(act, params.get(p + "mlp.down_proj.weight"))));
        }
        NDArray out = rmsnorm(x, params.get("model.norm.weight"));
        NDArray head = shape.tieWordEmbeddings() ? embed : params.get("lm_head.weight");
        return linear(out, head);
    }

    /** Mean cross-entropy of next-token prediction: logits [B][T][V] against target ids [B][T] (int64). */
    public static NDArray crossEntropy(NDArray logits, NDArray targets) {
        NDArray logp = logits.logSoftmax(2);
        return logp.gather(targets.expandDims(2), 2).neg().mean();
    }

    /**
     * Mean over positions of KL(teacher || student) = sum_v p_t (log p_t - log p_s), both at temperature
     * {@code temperature}, times temperature squared (so gradients keep their size as the temperature changes).
     */
    public static NDArray klDivergence(NDArray teacherLogits, NDArray studentLogits, float temperature) {
        NDArray logpt = temperature == 1f ? teacherLogits.logSoftmax(2) : teacherLogits.div(temperature).logSoftmax(2);
        NDArray logps = temperature == 1f ? studentLogits.logSoftmax(2) : studentLogits.div(temperature).logSoftmax(2);
        NDArray kl = logpt.exp().mul(logpt.sub(logps)).sum(new int[] {2});
        return kl.mean().muli(temperature * temperature);
    }

    /** The causal mask [T][T] (0 on and below the diagonal, -inf above) and the first T rows of cos and sin. */
    private synchronized NDArray[] tables(int t) {
        return perLength.computeIfAbsent(t, n -> {
            float[] m = new float[n * n];
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    m[i * n + j] = Float.NEGATIVE_INFINITY;
                }
            }
            NDArray[] out = {manager.create(m, new Shape(n, n)), cos.get("0:" + n), sin.get("0:" + n)};
            for (NDArray a : out) {
                ai.djl.ndarray.NDScope.unregister(a); // kept for the model's life, whatever scope asked first
            }
            return out;
        });
    }

    /**
     * Inverted dropout with masks from a seeded Java generator, drawn in a fixed order through the forward pass: a
     * kept element is scaled by 1 / (1 - rate), as torch.nn.functional.dropout does.
     */
    private static final class Dropout {

        static final Dropout NONE = new Dropout(0f, 0L);

        private final float rate;
        private final SplittableRandom random;

        Dropout(float rate, long seed) {
            if (!(rate >= 0f && rate < 1f)) {
                throw new IllegalArgumentException("dropout must be in [0, 1), got " + rate);
            }
            this.rate = rate;
            this.random = new SplittableRandom(seed);
        }

        NDArray apply(NDArray x) {
            if (rate == 0f) {
                return x;
            }
            float keep = 1f / (1f - rate);
            float[] mask = new float[Math.toIntExact(x.size())];
            for (int i = 0; i < mask.length; i++) {
                mask[i] = random.nextFloat() < rate ? 0f : keep;
            }
            return x.mul(x.getManager().create(mask, x.getShape()));
        }
    }

    private static NDArray linear(NDArray x, NDArray weight) {
        return x.getNDArrayInternal().linear(x, weight, null).singletonOrThrow();
    }

    /** x * rsqrt(mean(x^2) + eps) * weight over the last axis. */
    private NDArray rmsnorm(NDArray x, NDArray weight) {
        NDArray inv = x.square().mean(new int[] {-1}, true).addi(shape.rmsNormEps()).sqrt();
        return x.div(inv).mul(weight);
    }

    /** Rotate-half RoPE on [B][heads][T][headDim]: (a, b) -> (a cos - b sin, b cos + a sin) with a, b the two halves. */
    private static NDArray rope(NDArray x, NDArray cos, NDArray sin) {
        NDList halves = x.split(2, 3);
        NDArray a = halves.get(0);
        NDArray b = halves.get(1);
        return NDArrays.concat(new NDList(a.mul(cos).subi(b.mul(sin)), b.mul(cos).addi(a.mul(sin))), 3);
    }

    /** cos and sin exactly as {@code io.specula.model.llama.Rope} computes them: float32 frequencies and angles. */
    static float[][] ropeTables(ModelShape s) {
        int dim = s.headDim();
        int half = dim / 2;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            float exponent = (float) (2 * i) / dim;
            invFreq[i] = (float) (1.0 / Math.pow(s.ropeTheta(), exponent));
        }
        float[] cos = new float[s.maxPositions() * half];
        float[] sin = new float[s.maxPositions() * half];
        for (int pos = 0; pos < s.maxPositions(); pos++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos * invFreq[i];
                cos[pos * half + i] = (float) Math.cos(angle);
                sin[pos * half + i] = (float) Math.sin(angle);
            }
        }
        return new float[][] {cos, sin};
    }

    /** Token ids as an int64 array [rows][columns]. */
    public static NDArray ids(NDManager manager, int[][] rows) {
        int cols = rows[0].length;
        long[] flat = new long[rows.length * cols];
        for (int r = 0; r < rows.length; r++) {
            for (int c = 0; c < cols; c++) {
                flat[r * cols + c] = rows[r][c];
            }
        }
        return manager.create(flat, new Shape(rows.length, cols));
    }

    @Override
    public void close() {
        List<NDArray> all = new ArrayList<>(params.values());
        all.add(cos);
        all.add(sin);
        perLength.values().forEach(a -> all.addAll(List.of(a)));
        for (NDArray a : all) {
            a.close();
        }
    }

    static DataType dtype() {
        return DataType.FLOAT32;
    }
}
