package io.specula.speculative.drafter;

import io.specula.SpeculaException;

/**
 * Prompt lookup decoding: if the last n tokens occurred earlier in the prompt or output, propose what followed them
 * there. Tries n from {@code maxNgram} down to {@code minNgram} and takes the most recent earlier occurrence of the
 * longest n that matches (recent text predicts repetitions such as code edits, lists and quotes best). Costs a scan of
 * the sequence, nothing next to a forward pass, and wins big on tasks that copy from their input.
 *
 * <p>The draft is deterministic: q is one-hot at the drafted token, so under sampling the rejection rule accepts it
 * with probability p(token) and otherwise samples from p without that token, which is exact.
 */
public final class NgramDrafter implements Drafter {

    public static final int DEFAULT_MIN_NGRAM = 1;
    public static final int DEFAULT_MAX_NGRAM = 4;

    private final int minNgram;
    private final int maxNgram;

    public NgramDrafter() {
        this(DEFAULT_MIN_NGRAM, DEFAULT_MAX_NGRAM);
    }

    public NgramDrafter(int minNgram, int maxNgram) {
        if (minNgram < 1 || maxNgram < minNgram) {
            throw new SpeculaException("ngram drafter: expected 1 <= minNgram <= maxNgram, got " + minNgram + " and "
                    + maxNgram);
        }
        this.minNgram = minNgram;
        this.maxNgram = maxNgram;
    }

    @Override
    public String name() {
        return "ngram";
    }

    @Override
    public DraftSession open(DraftContext context) {
        return new DraftSession() {
            @Override
            public Draft propose(int maxTokens, DraftGate gate) {
                int[] tokens = lookup(context.sequence(), maxTokens, context.vocabSize());
                // Deterministic drafts are fully confident; the gate may still cap the length.
                int keep = 0;
                while (keep < tokens.length && gate.keepDrafting(keep, 1f)) {
                    keep++;
                }
                return new Draft(keep == tokens.length ? tokens : java.util.Arrays.copyOf(tokens, keep), null, 0);
            }

            @Override
            public void accepted(int acceptedCount, int nextToken) {
                // Stateless: the next lookup reads the sequence as it is then.
            }

            @Override
            public void close() {
            }
        };
    }

    /** The continuation (at most {@code maxTokens}) of the best earlier match of the sequence's suffix; may be empty. */
    public int[] lookup(TokenSequence seq, int maxTokens, int vocabSize) {
        int len = seq.length();
        if (maxTokens <= 0) {
            return new int[0];
        }
        for (int n = Math.min(maxNgram, len - 1); n >= minNgram; n--) {
            int suffix = len - n;
            // An earlier occurrence starting at j must leave at least one token after it, before the suffix's end.
            for (int j = suffix - 1; j >= 0; j--) {
                if (seq.regionMatches(j, suffix, n)) {
                    int from = j + n;
                    int to = Math.min(from + maxTokens, len);
                    int[] continuation = seq.slice(from, to);
                    for (int i = 0; i < continuation.length; i++) {
                        if (continuation[i] >= vocabSize) {
                            return java.util.Arrays.copyOf(continuation, i);
                        }
                    }
                    return continuation;
                }
            }
        }
        return new int[0];
    }
}
