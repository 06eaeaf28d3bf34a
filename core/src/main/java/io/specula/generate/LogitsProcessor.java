package io.specula.generate;

import java.util.Arrays;

/**
 * Turns a model's logits into the distribution a token is drawn from: penalties, then temperature, top-k and top-p
 * (transformers' order), after the request's constraint on the output, if it has one ({@link TokenCounts#constrain}:
 * excluded tokens get -inf before anything else, so they are never chosen and never take probability). Speculative
 * decoding applies the same processor to the target's and the drafter's logits, with the same history, so rejection
 * sampling reproduces exactly the distribution plain sampling would draw from.
 */
public final class LogitsProcessor {

    private final SamplingParams params;

    public LogitsProcessor(SamplingParams params) {
        this.params = params;
    }

    public SamplingParams params() {
        return params;
    }

    /** The greedy choice: the largest logit after penalties (ties go to the lowest id, like torch.argmax). */
    public int argmax(float[] logits, TokenCounts history) {
        if (history != null) {
            logits = history.constrain(logits);
        }
        int best = 0;
        float bestValue = Float.NEGATIVE_INFINITY;
        boolean penalise = params.hasPenalties() && history != null;
        for (int i = 0; i < logits.length; i++) {
            float v = penalise ? penalised(logits[i], history.count(i)) : logits[i];
            if (v > bestValue) {
                bestValue = v;
                best = i;
            }
        }
        return best;
    }

    /**
     * The probability of every token ({@code logits.length} of them) under these parameters; tokens removed by top-k
     * or top-p get exactly 0. For greedy parameters, a one-hot vector at {@link #argmax}.
     *
     * <p>Any temperature above 0, however small or large, gives softmax(logits / T) as exactly as a double computes
     * it: the largest logit is subtracted <em>before</em> dividing by T, so {@code (l - max) / T} is 0 for the largest
     * logits and 0 or negative (at worst -inf, weight 0) for the others, and never overflows. Dividing first
     * (l / T, then - max / T) overflows to ±inf for T below about 1e-38 in float (1e-308 in double) and gives
     * inf - inf = NaN (issue 19: T = 1e-320 sampled token 0 every step). There is no "treat as greedy below some T"
     * threshold: whether a temperature is effectively greedy depends on the logit gaps (logits 1e-3 apart at
     * T = 1e-3 keep e^-1 of the weight), and as T goes to 0 the distribution tends to the uniform one over the
     * largest logits, which is what this computes for an exact tie (greedy would pick the lowest id instead).
     *
     * <p>Edge cases, all without NaN: top-k ranks the (penalised) logits before scaling, so the scaling cannot
     * create ties; a huge T gives the uniform distribution over the tokens whose logit is finite (-inf stays
     * impossible); +inf logits (e.g. from a huge negative penalty) share all the mass; NaN logits count as -inf,
     * as in {@link #argmax}. A row with no finite or +inf logit at all is a model fault and throws
     * {@link IllegalStateException}.
     */
    public float[] probabilities(float[] logits, TokenCounts history) {
        int n = logits.length;
        float[] p = new float[n];
        if (params.isGreedy()) {
            p[argmax(logits, history)] = 1f;
            return p;
        }
        if (history != null) {
            logits = history.constrain(logits);
        }
        boolean penalise = params.hasPenalties() && history != null;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = penalise ? penalised(logits[i], history.count(i)) : logits[i];
            if (Float.isNaN(v)) {
                v = Float.NEGATIVE_INFINITY;
            }
            p[i] = v;
            if (v > max) {
                max = v;
            }
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new IllegalStateException("no token can be sampled: all " + n + " logits are -inf or NaN");
        }
        if (params.topK() > 0 && params.topK() < n) {
            float kth = kthLargest(p, params.topK());
            for (int i = 0; i < n; i++) {
                if (p[i] < kth) {
                    p[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
        double t = params.temperature();
        double sum = 0;
        for (int i = 0; i < n; i++) {
            // (l - max) is exact in double; for max = +inf only the +inf logits keep weight (their limit).
            float e = max == Float.POSITIVE_INFINITY ? (p[i] == max ? 1f : 0f)
                    : (float) Math.exp(((double) p[i] - max) / t);
            p[i] = e;
            sum += e;
        }
        // sum >= 1: the largest logit contributes exp(0) = 1.
        float inv = (float) (1.0 / sum);
        for (int i = 0; i < n; i++) {
            p[i] *= inv;
        }
        if (params.topP() < 1.0) {
            applyTopP(p, params.topP());
        }
        return p;
    }

    private float penalised(float logit, int count) {
        if (count == 0) {
            return logit;
        }
        return (float) (logit - params.frequencyPenalty() * count - params.presencePenalty());
    }

    /** Value of the k-th largest element (ties kept, like transformers' TopKLogitsWarper). */
    private static float kthLargest(float[] values, int k) {
        float[] copy = values.clone();
        Arrays.sort(copy);
        return copy[copy.length - k];
    }

    /**
     * Keeps the smallest set of most likely tokens whose probability reaches topP and renormalises. Sorting the whole
     * vocabulary every step is slow, so only tokens above a threshold are sorted; if they do not reach topP the
     * threshold drops to zero. Either way the kept set is exactly the sorted prefix.
     */
    static void applyTopP(float[] p, double topP) {
        float max = 0;
        for (float v : p) {
            max = Math.max(max, v);
        }
        float[] thresholds = {max * 1e-4f, 0f};
        for (float threshold : thresholds) {
            int count = 0;
            for (float v : p) {
                if (v > threshold || threshold == 0) {
                    count++;
                }
            }
            long[] keyed = new long[count];
            int j = 0;
            for (int i = 0; i < p.length; i++) {
                if (p[i] > threshold || threshold == 0) {
                    // Non-negative floats order like their bit patterns; the low half keeps the index.
                    // Negating the key sorts by descending probability and, on ties, ascending index.
                    keyed[j++] = -(((long) Float.floatToIntBits(p[i]) << 32) | (0xFFFFFFFFL - i));
                }
            }
            Arrays.sort(keyed);
            double cumulative = 0;
            int keep = 0;
            while (keep < count) {
                cumulative += Float.intBitsToFloat((int) (-keyed[keep] >>> 32));
                keep++;
                // transformers removes tokens whose cumulative probability (ascending order) is <= 1 - topP,
                // i.e. keeps the sorted prefix up to and including the token where the sum first exceeds topP.
                if (cumulative >= topP) {
                    break;
                }
            }
            if (cumulative >= topP || threshold == 0) {
                boolean[] kept = new boolean[p.length];
                for (int i = 0; i < keep; i++) {
                    kept[(int) (0xFFFFFFFFL - (-keyed[i] & 0xFFFFFFFFL))] = true;
                }
                double sum = 0;
                for (int i = 0; i < p.length; i++) {
                    if (!kept[i]) {
                        p[i] = 0;
                    } else {
                        sum += p[i];
                    }
                }
                float inv = (float) (1.0 / sum);
                for (int i = 0; i < p.length; i++) {
                    p[i] *= inv;
                }
                return;
            }
        }
    }
}
