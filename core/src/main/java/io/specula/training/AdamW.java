package io.specula.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (decoupled weight decay, Loshchilov and Hutter) with global-norm gradient clipping, over DJL arrays. Written
 * here rather than taken from {@code ai.djl.training.optimizer.AdamW} so that its moments can be saved in a
 * checkpoint and restored on {@code --resume}, and the learning rate set per step by the schedule.
 *
 * <p>Weight decay applies to matrices only (not to the RMSNorm weights). Call {@link #step} outside a
 * {@code GradientCollector} (parameters are updated in place) and inside an {@code NDScope}, which frees the
 * temporaries.
 */
public final class AdamW {

    private final Map<String, NDArray> params;
    private final Map<String, NDArray> m = new LinkedHashMap<>();
    private final Map<String, NDArray> v = new LinkedHashMap<>();
    private final float beta1;
    private final float beta2;
    private final float eps;
    private final float weightDecay;
    private long t;

    public AdamW(Map<String, NDArray> params, NDManager manager, float beta1, float beta2, float eps, float weightDecay) {
        this.params = params;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        params.forEach((name, p) -> {
            NDArray mm = manager.zeros(p.getShape());
            NDArray vv = manager.zeros(p.getShape());
            NDScope.unregister(mm, vv);
            m.put(name, mm);
            v.put(name, vv);
        });
    }

    /**
     * Clips the gradients to global norm {@code clip} (0 = no clipping), applies one update at learning rate
     * {@code lr}, and zeroes the gradients. Returns the gradient norm before clipping.
     */
    public float step(float lr, float clip) {
        Map<String, NDArray> grads = new LinkedHashMap<>();
        double sumSq = 0;
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray g = e.getValue().getGradient();
            grads.put(e.getKey(), g);
            sumSq += g.square().sum().getFloat();
        }
        float norm = (float) Math.sqrt(sumSq);
        float scale = clip > 0 && norm > clip ? clip / norm : 1f;
        t++;
        float bc1 = (float) (1 - Math.pow(beta1, t));
        float bc2 = (float) (1 - Math.pow(beta2, t));
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            String name = e.getKey();
            NDArray p = e.getValue();
            NDArray g = grads.get(name);
            NDArray gs = scale != 1f ? g.mul(scale) : g;
            NDArray mm = m.get(name).muli(beta1).addi(gs.mul(1 - beta1));
            NDArray vv = v.get(name).muli(beta2).addi(gs.square().muli(1 - beta2));
            NDArray update = mm.div(bc1).divi(vv.div(bc2).sqrt().addi(eps));
            if (weightDecay > 0 && p.getShape().dimension() >= 2) {
                p.muli(1 - lr * weightDecay);
            }
            p.subi(update.muli(lr));
            g.muli(0f); // gradients accumulate in PyTorch: clear them for the next step
        }
        return norm;
    }

    /** Steps taken (for the bias correction). */
    public long steps() {
        return t;
    }

    /** The moments by parameter name, for a checkpoint: "adam_m/NAME" and "adam_v/NAME". */
    public Map<String, NDArray> state() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        m.forEach((k, a) -> out.put("adam_m/" + k, a));
        v.forEach((k, a) -> out.put("adam_v/" + k, a));
        return out;
    }

    /** Restores the moments and step count written by {@link #state()}. */
    public void restore(Map<String, SafeTensorsFiles.Tensor> tensors, long steps) {
        for (Map.Entry<String, NDArray> e : state().entrySet()) {
            SafeTensorsFiles.Tensor saved = tensors.get(e.getKey());
            if (saved == null) {
                throw new IllegalArgumentException("the checkpoint has no optimizer state '" + e.getKey() + "'");
            }
            e.getValue().set(saved.data());
        }
        this.t = steps;
    }

    /** Linear warm-up from 0 to {@code peak} over {@code warmup} steps, then a cosine decay to {@code peak * minRatio}. */
    public static float learningRate(long step, long totalSteps, long warmup, float peak, float minRatio) {
        if (step <= warmup && warmup > 0) {
            return peak * step / warmup;
        }
        double progress = totalSteps <= warmup ? 1 : Math.min(1.0, (double) (step - warmup) / (totalSteps - warmup));
        double cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
        return (float) (peak * (minRatio + (1 - minRatio) * cosine));
    }

    public void close() {
        m.values().forEach(NDArray::close);
        v.values().forEach(NDArray::close);
    }
}
