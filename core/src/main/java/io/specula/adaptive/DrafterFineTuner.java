package io.specula.adaptive;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.specula.training.AdamW;
import io.specula.training.ModelShape;
import io.specula.training.SafeTensorsFiles;
import io.specula.training.TrainableLlama;

import java.util.List;
import java.util.Map;

/**
 * The trainable copy of the drafter: a {@link TrainableLlama} with its {@link AdamW} state, fine-tuned on buffered
 * examples with the distillation loss (KL from the target's top-k distribution, renormalised) or cross-entropy on the
 * target's tokens. The serving drafter is never touched: {@link #weights()} copies the result out, and the caller
 * builds a new serving model from it. Used by one thread at a time.
 */
final class DrafterFineTuner implements AutoCloseable {

    /** Global gradient-norm clipping, as in the offline trainer. */
    static final float CLIP = 1.0f;

    private final ModelShape shape;
    private final AdaptiveConfig.Loss loss;
    private final int topK;
    private final NDManager manager;
    private TrainableLlama model;
    private AdamW adam;

    DrafterFineTuner(ModelShape shape, Map<String, SafeTensorsFiles.Tensor> weights, AdaptiveConfig config) {
        this.shape = shape;
        this.loss = config.loss();
        this.topK = config.loss() == AdaptiveConfig.Loss.CROSS_ENTROPY ? 1 : config.topK();
        this.manager = NDManager.newBaseManager();
        reset(weights);
    }

    /** Starts over from these weights, with fresh optimiser moments. */
    void reset(Map<String, SafeTensorsFiles.Tensor> weights) {
        closeModel();
        model = TrainableLlama.of(shape, weights, manager);
        model.trainable();
        adam = new AdamW(model.parameters(), manager, 0.9f, 0.95f, 1e-8f, 0f);
    }

    /**
     * One AdamW step on a batch; returns the batch's loss: mean KL(target top-k || drafter) per labelled position,
     * or mean cross-entropy on the target's tokens.
     */
    float step(List<Example> batch, float lr) {
        int b = batch.size();
        int t = 0;
        for (Example e : batch) {
            t = Math.max(t, e.inputs().length);
        }
        int k = topK;
        long[] ids = new long[b * t];
        long[] index = new long[b * t * k];
        float[] weight = new float[b * t * k];
        double entropy = 0;
        int positions = 0;
        for (Example e : batch) {
            positions += e.labels();
        }
        for (int r = 0; r < b; r++) {
            Example e = batch.get(r);
            int[] in = e.inputs();
            for (int p = 0; p < in.length; p++) {
                ids[r * t + p] = in[p];
            }
            for (int j = 0; j < e.labels(); j++) {
                int at = (r * t + e.labelStart() + j) * k;
                if (k == 1) {
                    index[at] = e.verified()[j];
                    weight[at] = e.verified()[j] < shape.vocabSize() ? 1f / positions : 0f;
                    continue;
                }
                int[] top = e.topIds()[j];
                float[] p = e.topProbs()[j];
                double mass = 0;
                for (int i = 0; i < k && i < top.length; i++) {
                    if (top[i] < shape.vocabSize()) {
                        mass += p[i];
                    }
                }
                for (int i = 0; i < k && i < top.length; i++) {
                    if (top[i] < shape.vocabSize() && mass > 0 && p[i] > 0) {
                        double pn = p[i] / mass;
                        index[at + i] = top[i];
                        weight[at + i] = (float) (pn / positions);
                        entropy -= pn * Math.log(pn) / positions;
                    }
                }
            }
        }
        float value;
        try (NDScope scope = new NDScope()) {
            NDArray idArray = manager.create(ids, new Shape(b, t));
            NDArray indexArray = manager.create(index, new Shape(b, t, k));
            NDArray weightArray = manager.create(weight, new Shape(b, t, k));
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray logits = model.forward(idArray);
                // Cross-entropy against the (renormalised) top-k: KL plus the targets' entropy, same gradient.
                NDArray ce = logits.logSoftmax(2).gather(indexArray, 2).mul(weightArray).sum().neg();
                gc.backward(ce);
                value = ce.getFloat();
            }
            // PyTorch's grad mode is per thread and on by default in a new one; the collector only restores what it
            // found, so on the background trainer's thread the optimiser's in-place updates of the leaf parameters
            // failed ("a leaf Variable that requires grad is being used in an in-place operation") until this.
            ai.djl.pytorch.jni.JniUtils.setGradMode(false);
            adam.step(lr, CLIP);
        }
        if (!Float.isFinite(value)) {
            throw new IllegalStateException("the adaptive drafter's loss is " + value + ": lower the learning rate");
        }
        return loss == AdaptiveConfig.Loss.KL ? (float) (value - entropy) : value;
    }

    /** The current weights, copied out. */
    Map<String, SafeTensorsFiles.Tensor> weights() {
        return model.weights();
    }

    private void closeModel() {
        if (adam != null) {
            adam.close();
            adam = null;
        }
        if (model != null) {
            model.close();
            model = null;
        }
    }

    @Override
    public void close() {
        closeModel();
        manager.close();
    }
}
