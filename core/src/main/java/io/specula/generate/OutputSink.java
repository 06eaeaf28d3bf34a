package io.specula.generate;

import io.specula.tokenizer.StreamingDetokenizer;

import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * Takes output tokens one at a time and decides where the output ends: an end-of-sequence id, a stop sequence or
 * the token limit. Plain and speculative decoding feed it the same tokens in the same order, so a stop that falls in
 * the middle of an accepted draft ends the output exactly where target-only decoding would.
 *
 * <p>It also streams the text: deltas never split a UTF-8 character, and text that might be the beginning of a stop
 * sequence is held back until it is clear that it is not.
 */
public final class OutputSink {

    private final int maxTokens;
    private final Set<Integer> eosIds;
    private final List<String> stopSequences;
    private final int longestStop;
    private final StreamingDetokenizer detokenizer;
    private final GenerationListener listener;

    private int[] tokens = new int[16];
    private int count;
    private final StringBuilder text = new StringBuilder();
    private int emitted;            // chars of text already given to the listener
    private FinishReason finishReason;

    public OutputSink(GenerationRequest request, Set<Integer> eosIds, StreamingDetokenizer detokenizer,
                      GenerationListener listener) {
        this.maxTokens = request.maxTokens();
        this.eosIds = eosIds;
        this.stopSequences = request.stopSequences();
        this.longestStop = stopSequences.stream().mapToInt(String::length).max().orElse(0);
        this.detokenizer = detokenizer;
        this.listener = listener == null ? GenerationListener.NONE : listener;
    }

    /**
     * Offers the next token of the output. Returns true when the output is complete (this token ended it, or it
     * was already complete); the caller then stops decoding and drops any further tokens of its step.
     */
    public boolean accept(int token, TokenSource source) {
        if (finishReason != null) {
            return true;
        }
        if (eosIds.contains(token)) {
            finish(FinishReason.STOP);
            return true;
        }
        if (count == tokens.length) {
            tokens = Arrays.copyOf(tokens, count * 2);
        }
        tokens[count++] = token;
        int before = text.length();
        text.append(detokenizer.push(token));
        if (longestStop > 0 && findStop(before)) {
            listener.onToken(token, drainUpTo(text.length()), source);
            finishReason = FinishReason.STOP;
            return true;
        }
        // Hold back a tail that could still grow into a stop sequence.
        listener.onToken(token, drainUpTo(text.length() - heldBack()), source);
        if (count >= maxTokens) {
            finish(FinishReason.LENGTH);
            return true;
        }
        return false;
    }

    /** Ends the output early for a reason the decoder knows (context full, cancelled). */
    public void finish(FinishReason reason) {
        if (finishReason != null) {
            return;
        }
        finishReason = reason;
        text.append(detokenizer.flush());
        String rest = drainUpTo(text.length());
        if (!rest.isEmpty()) {
            listener.onToken(-1, rest, TokenSource.TARGET);
        }
    }

    public boolean isFinished() {
        return finishReason != null;
    }

    public FinishReason finishReason() {
        return finishReason;
    }

    public int tokenCount() {
        return count;
    }

    /** The output so far (for penalties and the n-gram drafter): ids in order. */
    public int[] tokens() {
        return Arrays.copyOf(tokens, count);
    }

    /** The output text; after a stop sequence, the text before it. */
    public String text() {
        return text.toString();
    }

    /** Looks for a stop sequence that ends in the text appended since {@code before}; cuts the text there. */
    private boolean findStop(int before) {
        int from = Math.max(0, before - longestStop + 1);
        int best = -1;
        for (String stop : stopSequences) {
            int at = text.indexOf(stop, from);
            if (at >= 0 && (best < 0 || at < best)) {
                best = at;
            }
        }
        if (best < 0) {
            return false;
        }
        text.setLength(best);
        return true;
    }

    /** Length of the longest suffix of the text that is a proper prefix of some stop sequence. */
    private int heldBack() {
        int held = 0;
        for (String stop : stopSequences) {
            for (int k = Math.min(stop.length() - 1, text.length() - emitted); k > held; k--) {
                if (endsWithPrefix(stop, k)) {
                    held = k;
                    break;
                }
            }
        }
        return held;
    }

    private boolean endsWithPrefix(String stop, int k) {
        int at = text.length() - k;
        for (int i = 0; i < k; i++) {
            if (text.charAt(at + i) != stop.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private String drainUpTo(int end) {
        if (end <= emitted) {
            return "";
        }
        String delta = text.substring(emitted, end);
        emitted = end;
        return delta;
    }
}
