package io.specula.model.llama;

import io.specula.model.ModelConfig;

import java.util.List;

/**
 * Rotary position embeddings in Hugging Face's rotate-half layout: dimension i is paired with i + rotaryDim/2, and
 * the dimensions past {@code rotaryDim} (partial rotary, Phi-4-mini) pass through unchanged. Frequencies follow
 * transformers (float32 inverse frequencies; optional Llama 3, linear or longrope scaling), and cos/sin are
 * precomputed for every position up to the context length, multiplied by the attention factor as transformers'
 * rotary embeddings do (longrope's; 1 otherwise).
 *
 * <p>With longrope there are two sets of tables, the short factors' and the long ones'; which one a pass uses is
 * {@link LongRopePasses}' rule (transformers' generate for Phi-3).
 */
public final class Rope {

    private final int half;
    private final float[] cos;     // [position][half]; longrope's short factors
    private final float[] sin;
    private final float[] longCos; // [position][half] with longrope's long factors, else null
    private final float[] longSin;

    /** The RoPE of a Llama-family or Phi-3 model, or of Gemma 3's global layers. */
    public Rope(ModelConfig c, int maxPositions) {
        this(c, maxPositions, c.ropeTheta(), c.ropeLinearFactor(), true);
    }

    /** Gemma 3's sliding-window layers: their own base ({@code rope_local_base_freq}), no scaling. */
    public static Rope local(ModelConfig c, int maxPositions) {
        return new Rope(c, maxPositions, c.ropeLocalTheta(), 1.0, false);
    }

    private Rope(ModelConfig c, int maxPositions, double theta, double linearFactor, boolean global) {
        int dim = c.rotaryDim();
        this.half = dim / 2;
        ModelConfig.LongRope longRope = global ? c.longRope() : null;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), in float32
            float exponent = (float) (2 * i) / dim;
            invFreq[i] = (float) (1.0 / Math.pow(theta, exponent));
        }
        if (global && c.ropeScaling() != null && c.ropeScaling().frequencyDivisors() != null) {
            // llama.cpp's form of the same scaling (a GGUF file's rope_freqs): each frequency divided by its factor
            float[] divisors = c.ropeScaling().frequencyDivisors();
            for (int i = 0; i < half; i++) {
                invFreq[i] = invFreq[i] / divisors[i];
            }
        } else if (global && c.ropeScaling() != null) {
            scaleLlama3(invFreq, c.ropeScaling());
        }
        if (linearFactor != 1.0) {
            // _compute_linear_scaling_rope_parameters: inv_freq /= factor
            for (int i = 0; i < half; i++) {
                invFreq[i] = (float) (invFreq[i] / linearFactor);
            }
        }
        float attentionFactor = 1f;
        float[] longFreq = null;
        if (longRope != null) {
            invFreq = longRopeFrequencies(theta, dim, longRope.shortFactor());
            longFreq = longRopeFrequencies(theta, dim, longRope.longFactor());
            attentionFactor = (float) longRope.attentionFactor();
        }
        this.cos = new float[maxPositions * half];
        this.sin = new float[maxPositions * half];
        fill(cos, sin, maxPositions, invFreq, attentionFactor);
        if (longFreq != null) {
            this.longCos = new float[maxPositions * half];
            this.longSin = new float[maxPositions * half];
            fill(longCos, longSin, maxPositions, longFreq, attentionFactor);
        } else {
            this.longCos = null;
            this.longSin = null;
        }
    }

    private static void fill(float[] cos, float[] sin, int positions, float[] freq, float factor) {
        int half = freq.length;
        for (int pos = 0; pos < positions; pos++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos * freq[i];
                // transformers: emb.cos() * attention_scaling, in float32
                cos[pos * half + i] = (float) Math.cos(angle) * factor;
                sin[pos * half + i] = (float) Math.sin(angle) * factor;
            }
        }
    }

    /** _compute_longrope_parameters: 1 / (ext_factors * base ** (arange(0, dim, 2).float() / dim)), float32 steps. */
    private static float[] longRopeFrequencies(double theta, int dim, List<Double> factors) {
        float[] out = new float[dim / 2];
        for (int i = 0; i < out.length; i++) {
            float exponent = (float) (2 * i) / dim;
            float power = (float) Math.pow(theta, exponent);
            out[i] = 1f / (factors.get(i).floatValue() * power);
        }
        return out;
    }

    /** transformers' _compute_llama3_parameters: long wavelengths slowed by factor, a smooth ramp in between. */
    private static void scaleLlama3(float[] invFreq, ModelConfig.RopeScaling s) {
        double oldContext = s.originalMaxPositionEmbeddings();
        double lowFreqWavelen = oldContext / s.lowFreqFactor();
        double highFreqWavelen = oldContext / s.highFreqFactor();
        for (int i = 0; i < invFreq.length; i++) {
            double f = invFreq[i];
            double wavelen = 2 * Math.PI / f;
            if (wavelen > lowFreqWavelen) {
                invFreq[i] = (float) (f / s.factor());
            } else if (wavelen >= highFreqWavelen) {
                double smooth = (oldContext / wavelen - s.lowFreqFactor()) / (s.highFreqFactor() - s.lowFreqFactor());
                invFreq[i] = (float) ((1 - smooth) * f / s.factor() + smooth * f);
            }
        }
    }

    /** Half the rotated dimensions: the number of rotation frequencies. */
    public int half() {
        return half;
    }

    /** Whether there are long factors (longrope): then {@link #cosTable}(true) is not null. */
    public boolean hasLongFactors() {
        return longCos != null;
    }

    /**
     * cos(pos * freq[i]) (times the attention factor) at {@code [pos * half + i]}, for every position up to the
     * context length, with longrope's long factors when {@code longFactors} (else its short ones, or plain RoPE's).
     * Do not modify.
     */
    public float[] cosTable(boolean longFactors) {
        return longFactors ? longCos : cos;
    }

    /** sin(pos * freq[i]), laid out as {@link #cosTable}; do not modify. */
    public float[] sinTable(boolean longFactors) {
        return longFactors ? longSin : sin;
    }

    /**
     * Rotates {@code heads} consecutive head vectors of x starting at {@code offset}, for position {@code pos}: the
     * first 2 * {@link #half} dimensions of each head, pairs (i, i + half); the others are left as they are.
     */
    public void rotate(float[] x, int offset, int heads, int headDim, int pos, boolean longFactors) {
        float[] cosT = longFactors ? longCos : cos;
        float[] sinT = longFactors ? longSin : sin;
        int base = pos * half;
        for (int h = 0; h < heads; h++) {
            int at = offset + h * headDim;
            for (int i = 0; i < half; i++) {
                float c = cosT[base + i];
                float s = sinT[base + i];
                float a = x[at + i];
                float b = x[at + i + half];
                x[at + i] = a * c - b * s;
                x[at + i + half] = b * c + a * s;
            }
        }
    }
}
