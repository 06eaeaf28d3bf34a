package io.specula.testing;

import io.specula.model.CausalLm;
import io.specula.model.KvCache;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The KV cache's contract as speculative decoding uses it: passes of any width, and rollbacks ({@link KvCache#truncate})
 * after wrong drafts, give at every position the logits of one fresh pass over the sequence up to it. Checked for
 * every row a pass returns, the rows after a rollback included: a sliding-window layer must still see the positions
 * before its window once the cache rolls back, a longrope model must rotate each position as decoding it alone would.
 */
public final class CacheConsistency {

    private CacheConsistency() {
    }

    /**
     * Feeds {@code length} positions of random tokens in passes of 1 to {@code maxWidth} tokens, each followed with
     * probability 1/2 by a rollback of some of them (which are then fed again, or replaced), and compares every row with
     * the last row of a fresh pass over the tokens up to its position.
     *
     * @return the number of rows compared
     */
    public static int check(CausalLm model, int length, int maxWidth, long seed, float tolerance) {
        SplittableRandom r = new SplittableRandom(seed);
        int vocab = model.vocabSize();
        List<Integer> held = new ArrayList<>();
        int compared = 0;
        try (KvCache cache = model.newCache(length + maxWidth)) {
            while (held.size() < length) {
                int width = Math.min(1 + r.nextInt(maxWidth), length + maxWidth - held.size());
                int[] tokens = r.ints(width, 0, vocab).toArray();
                float[][] rows = model.forward(tokens, cache, width);
                for (int i = 0; i < width; i++) {
                    held.add(tokens[i]);
                    if (cache.length() == width && i < width - 1) {
                        continue;   // rows inside a prompt pass are that pass's (longrope: the prompt's factors)
                    }
                    assertClose(rows[i], freshLastRow(model, held), tolerance,
                            "position " + (held.size() - 1) + " of " + held);
                    compared++;
                }
                assertThat(cache.length()).isEqualTo(held.size());
                if (r.nextBoolean() && held.size() > 1) {
                    int keep = Math.max(1, held.size() - 1 - r.nextInt(Math.min(held.size() - 1, maxWidth + 1)));
                    cache.truncate(keep);
                    held.subList(keep, held.size()).clear();
                }
            }
        }
        return compared;
    }

    /** The last row of one pass over {@code tokens} from an empty cache. */
    public static float[] freshLastRow(CausalLm model, List<Integer> tokens) {
        try (KvCache cache = model.newCache(tokens.size())) {
            return model.forward(tokens.stream().mapToInt(Integer::intValue).toArray(), cache, 1)[0];
        }
    }

    public static void assertClose(float[] actual, float[] expected, float tolerance, String what) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= tolerance)) {
                throw new AssertionError(what + ": logit " + i + ": " + actual[i] + " vs " + expected[i]
                        + " (tolerance " + tolerance + "); row " + Arrays.toString(actual));
            }
        }
    }
}
