package io.specula.training;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A corpus as one stream of token ids: each document encoded whole (as the tokenizer encodes a prompt, with the
 * leading ▁ and no special tokens), followed by EOS. Training windows start at a word (a token that begins with ▁)
 * and are given BOS in front, the way a prompt reaches the model at inference.
 */
public final class TokenData {

    public static final int BOS = 1;
    public static final int EOS = 2;

    private final int[] tokens;
    private final int[] wordStarts;   // positions of tokens that begin with ▁, in order

    TokenData(int[] tokens, boolean[] isWordStart) {
        this.tokens = tokens;
        int n = 0;
        for (boolean b : isWordStart) {
            n += b ? 1 : 0;
        }
        this.wordStarts = new int[n];
        int j = 0;
        for (int i = 0; i < tokens.length; i++) {
            if (isWordStart[i]) {
                wordStarts[j++] = i;
            }
        }
    }

    /** Encodes every document of {@code corpus} (a .txt file or a folder of them) with the tokenizer in {@code tokenizerDir}. */
    public static TokenData encode(Path corpus, Path tokenizerDir) {
        List<Corpus.Document> docs = Corpus.read(corpus);
        try (HuggingFaceTokenizer tok = HuggingFaceTokenizer.builder().optTokenizerPath(tokenizerDir)
                .optAddSpecialTokens(false).optTruncation(false).build()) {
            List<int[]> parts = new ArrayList<>();
            List<boolean[]> starts = new ArrayList<>();
            int total = 0;
            for (Corpus.Document d : docs) {
                var enc = tok.encode(d.text(), false, false);
                long[] ids = enc.getIds();
                String[] strings = enc.getTokens();
                int[] part = new int[ids.length + 1];
                boolean[] start = new boolean[ids.length + 1];
                for (int i = 0; i < ids.length; i++) {
                    part[i] = (int) ids[i];
                    start[i] = strings[i].startsWith(BpeTrainer.SPACE);
                }
                part[ids.length] = EOS;
                parts.add(part);
                starts.add(start);
                total += part.length;
            }
            int[] all = new int[total];
            boolean[] allStarts = new boolean[total];
            int at = 0;
            for (int i = 0; i < parts.size(); i++) {
                System.arraycopy(parts.get(i), 0, all, at, parts.get(i).length);
                System.arraycopy(starts.get(i), 0, allStarts, at, parts.get(i).length);
                at += parts.get(i).length;
            }
            return new TokenData(all, allStarts);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot load the tokenizer from " + tokenizerDir, e);
        }
    }

    public int size() {
        return tokens.length;
    }

    public int maxId() {
        int max = 0;
        for (int t : tokens) {
            max = Math.max(max, t);
        }
        return max;
    }

    /** A window of {@code length} positions: inputs [BOS, x_s .. x_{s+length-2}], targets [x_s .. x_{s+length-1}]. */
    public record Window(int[] inputs, int[] targets) {
    }

    private Window window(int start, int length) {
        int[] in = new int[length];
        int[] out = new int[length];
        in[0] = BOS;
        System.arraycopy(tokens, start, in, 1, length - 1);
        System.arraycopy(tokens, start, out, 0, length);
        return new Window(in, out);
    }

    private int lastStart(int length) {
        int limit = tokens.length - length;
        if (limit < 0) {
            throw new IllegalArgumentException("the corpus has " + tokens.length + " tokens, fewer than one window of " + length);
        }
        // number of word starts at or before limit
        int lo = 0;
        int hi = wordStarts.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (wordStarts[mid] <= limit) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo == 0) {
            throw new IllegalArgumentException("no window of " + length + " tokens starts at a word");
        }
        return lo;
    }

    /**
     * The training batch of step {@code step}: {@code batch} windows at random word starts. A pure function of
     * (seed, step), so a resumed run sees exactly the batches the uninterrupted run would have.
     */
    public Window[] batch(long seed, long step, int batch, int length) {
        int candidates = lastStart(length);
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L ^ (step * 0xC2B2AE3D27D4EB4FL + 0x165667B19E3779F9L));
        Window[] out = new Window[batch];
        for (int i = 0; i < batch; i++) {
            out[i] = window(wordStarts[r.nextInt(candidates)], length);
        }
        return out;
    }

    /**
     * Evaluation windows: consecutive, non-overlapping, each moved forward to the next word start; at most
     * {@code max} of them (0 = all), spread evenly over the stream.
     */
    public List<Window> evaluationWindows(int length, int max) {
        int candidates = lastStart(length);
        int limit = wordStarts[candidates - 1];
        int count = Math.max(1, limit / length + 1);
        if (max > 0) {
            count = Math.min(count, max);
        }
        List<Window> out = new ArrayList<>();
        int k = 0;
        for (int w = 0; w < count; w++) {
            long target = count == 1 ? 0 : (long) w * limit / (count - 1);
            while (k < candidates - 1 && wordStarts[k] < target) {
                k++;
            }
            out.add(window(wordStarts[k], length));
        }
        return out;
    }
}
