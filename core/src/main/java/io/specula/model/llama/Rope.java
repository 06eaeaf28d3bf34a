package io.specula.model.llama;

import io.specula.model.ModelConfig;

/**
 * Rotary position embeddings in Hugging Face's rotate-half layout: dimension i is paired with i + headDim/2.
 * Frequencies follow transformers (float32 inverse frequencies, optional Llama 3 scaling), and cos/sin are
 * precomputed for every position up to the context length.
 */
final class Rope {

    private final int half;
    private final float[] cos;   // [position][half]
    private final float[] sin;

    Rope(ModelConfig c, int maxPositions) {
        int dim = c.headDim();
        this.half = dim / 2;
        float[] invFreq = new float[half];
        for (int i = 0; i < half; i++) {
            // transformers: 1 / base ** (arange(0, dim, 2).float() / dim), in float32
            float exponent = (float) (2 * i) / dim;
            invFreq[i] = (float) (1.0 / Math.pow(c.ropeTheta(), exponent));
        }
        if (c.ropeScaling() != null && c.ropeScaling().frequencyDivisors() != null) {
            // llama.cpp's form of the same scaling (a GGUF file's rope_freqs): each frequency divided by its factor
            float[] divisors = c.ropeScaling().frequencyDivisors();
            for (int i = 0; i < half; i++) {
                invFreq[i] = invFreq[i] / divisors[i];
            }
        } else if (c.ropeScaling() != null) {
            scaleLlama3(invFreq, c.ropeScaling());
        }
        this.cos = new float[maxPositions * half];
        this.sin = new float[maxPositions * half];
        for (int pos = 0; pos < maxPositions; pos++) {
            for (int i = 0; i < half; i++) {
                float angle = (float) pos * invFreq[i];
                cos[pos * half + i] = (float) Math.cos(angle);
                sin[pos * half + i] = (float) Math.sin(angle);
            }
        }
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

    /** Half the head dimension: the number of rotation frequencies. */
    int half() {
        return half;
    }

    /** cos(pos * freq[i]) at {@code [pos * half + i]}, for every position up to the context length; do not modify. */
    float[] cosTable() {
        return cos;
    }

    /** sin(pos * freq[i]) at {@code [pos * half + i]}; do not modify. */
    float[] sinTable() {
        return sin;
    }

    /** Rotates {@code heads} consecutive head vectors of x starting at {@code offset}, for position {@code pos}. */
    void rotate(float[] x, int offset, int heads, int headDim, int pos) {
        int base = pos * half;
        for (int h = 0; h < heads; h++) {
            int at = offset + h * headDim;
            for (int i = 0; i < half; i++) {
                float c = cos[base + i];
                float s = sin[base + i];
                float a = x[at + i];
                float b = x[at + i + half];
                x[at + i] = a * c - b * s;
                x[at + i + half] = b * c + a * s;
            }
        }
    }
}
