package io.specula.adaptive;

/**
 * One training window taken from a served request: the input ids of positions 0 .. n-1 and, for the labelled
 * positions {@code labelStart} .. n-1, what the target decided there: the token it emitted next ({@code verified})
 * and the top of its next-token distribution ({@code topIds}, {@code topProbs}: probabilities at temperature 1,
 * largest first, not renormalised).
 *
 * @param request the request it came from (windows of one request stay on the same side of the held-out split)
 * @param target  the version of the target that decided the labels (1: the target loaded at start-up)
 */
public record Example(long request, int[] inputs, int labelStart, int[] verified, int[][] topIds, float[][] topProbs,
                      int target) {

    /** An example from the start-up target (version 1). */
    public Example(long request, int[] inputs, int labelStart, int[] verified, int[][] topIds, float[][] topProbs) {
        this(request, inputs, labelStart, verified, topIds, topProbs, 1);
    }

    public Example {
        int labels = inputs.length - labelStart;
        if (labelStart < 0 || labels < 1 || verified.length != labels || topIds.length != labels
                || topProbs.length != labels) {
            throw new IllegalArgumentException("an example needs one label per position from " + labelStart + " to "
                    + (inputs.length - 1));
        }
    }

    /** Labelled positions. */
    public int labels() {
        return verified.length;
    }

    /** Approximate heap bytes, for the buffer's accounting. */
    long bytes() {
        long k = topIds.length == 0 ? 0 : topIds[0].length;
        return 64 + 4L * inputs.length + 4L * verified.length + verified.length * (32 + 8 * k);
    }
}
