package io.specula.adaptive;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Records one request for the buffer: each output token with the top-k of the target's distribution at its position;
 * at the end cuts prompt + output into training windows of at most {@code window} positions. Only the top-k is copied
 * out of a logits row (one pass for the k largest, one for the softmax normaliser), and at most {@code maxTokens}
 * output tokens are recorded.
 */
final class RequestRecorder {

    private final long request;
    private final int[] prompt;
    private final int topK;
    private final int window;
    private final int maxTokens;
    private final int readableVocab;
    private final int target;
    private int[] tokens = new int[32];
    private int[][] topIds = new int[32][];
    private float[][] topProbs = new float[32][];
    private int count;

    /**
     * @param readableVocab ids the drafter can read and predict; a request with other ids is not kept
     * @param target        the target version decoding the request (its examples carry it)
     */
    RequestRecorder(long request, int[] prompt, int topK, int window, int maxTokens, int readableVocab, int target) {
        this.target = target;
        this.request = request;
        this.prompt = prompt;
        this.topK = topK;
        this.window = window;
        this.maxTokens = maxTokens;
        this.readableVocab = readableVocab;
    }

    void token(float[] logits, int token) {
        if (count >= maxTokens) {
            return;
        }
        if (count == tokens.length) {
            int n = count * 2;
            tokens = Arrays.copyOf(tokens, n);
            topIds = Arrays.copyOf(topIds, n);
            topProbs = Arrays.copyOf(topProbs, n);
        }
        int k = Math.min(topK, logits.length);
        int[] ids = new int[k];
        float[] probs = new float[k];
        topOf(logits, ids, probs);
        tokens[count] = token;
        topIds[count] = ids;
        topProbs[count] = probs;
        count++;
    }

    int count() {
        return count;
    }

    /**
     * The windows: inputs are prompt + output minus the last output token; the label at position p is the output
     * token at p + 1. Labels are cut in chunks of at most window/2 positions, each with up to window/2 positions of
     * context before it (the first chunk: the prompt's end).
     */
    List<Example> examples() {
        if (count == 0) {
            return List.of();
        }
        int[] seq = new int[prompt.length + count - 1];
        System.arraycopy(prompt, 0, seq, 0, prompt.length);
        System.arraycopy(tokens, 0, seq, prompt.length, count - 1);
        for (int t : seq) {
            if (t < 0 || t >= readableVocab) {
                return List.of();
            }
        }
        int firstLabel = prompt.length - 1;
        int chunk = Math.max(1, window / 2);
        List<Example> out = new ArrayList<>();
        for (int a = firstLabel; a < seq.length; a += chunk) {
            int b = Math.min(seq.length, a + chunk);
            int s = Math.max(0, b - window);
            int n = b - a;
            int[] verified = new int[n];
            int[][] ids = new int[n][];
            float[][] probs = new float[n][];
            for (int j = 0; j < n; j++) {
                int o = a - firstLabel + j;
                verified[j] = tokens[o];
                ids[j] = topIds[o];
                probs[j] = topProbs[o];
            }
            out.add(new Example(request, Arrays.copyOfRange(seq, s, b), a - s, verified, ids, probs, target));
        }
        return out;
    }

    /** The k largest logits' ids (largest first) and their softmax probabilities over the whole row. */
    static void topOf(float[] logits, int[] ids, float[] probs) {
        int k = ids.length;
        float[] vals = new float[k];
        Arrays.fill(vals, Float.NEGATIVE_INFINITY);
        Arrays.fill(ids, -1);
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < logits.length; i++) {
            float v = logits[i];
            if (v > max) {
                max = v;
            }
            if (v > vals[k - 1] || ids[k - 1] < 0) {
                int j = k - 1;
                while (j > 0 && (v > vals[j - 1] || ids[j - 1] < 0)) {
                    vals[j] = vals[j - 1];
                    ids[j] = ids[j - 1];
                    j--;
                }
                vals[j] = v;
                ids[j] = i;
            }
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        for (int j = 0; j < k; j++) {
            probs[j] = ids[j] < 0 ? 0f : (float) (Math.exp(vals[j] - max) / sum);
            if (ids[j] < 0) {
                ids[j] = 0;
            }
        }
    }
}
