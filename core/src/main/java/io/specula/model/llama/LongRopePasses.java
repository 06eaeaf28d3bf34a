package io.specula.model.llama;

import io.specula.model.KvCache;

import java.util.Arrays;

/**
 * Which longrope factors (Phi-3-128k, Phi-3.5-mini, Phi-4-mini) each position is computed with, as transformers 5.12.1
 * does, and the recomputation of the cache that needs.
 *
 * <p>transformers picks the factors per forward call ({@code longrope_frequency_update}): the long ones when the call
 * reaches past {@code original_max_position_embeddings} ({@code max(position_ids) + 1 > original}), the short ones
 * otherwise. Its greedy {@code generate} drops the cache when the sequence first grows past original
 * ({@code Phi3ForCausalLM.prepare_inputs_for_generation}) and recomputes every position with the long factors. So the
 * logits after position q are those of a full pass over positions 0..q with the long factors if q + 1 &gt; original,
 * else the short ones; only a prompt is computed as one call (all its positions with the factors its length calls for).
 *
 * <p>That is the rule here, per position, so that plain and speculative decoding give the same tokens:
 * <ul>
 *   <li>a pass from position 0 (a prompt) uses one set for all its positions, chosen by its length;</li>
 *   <li>any later pass computes position q with the long factors iff q &gt;= original: a pass that crosses is split
 *       there, and before the long part the cache is recomputed from its tokens with the long factors (what generate
 *       does when it drops its cache); a rollback to before the switch followed by a short pass recomputes it with the
 *       short ones again.</li>
 * </ul>
 * A recomputation is a prefill of the sequence so far: once per request for plain decoding, as in transformers; a
 * verification pass that crosses and is then rolled back can cost one or two more. (transformers' own assisted
 * generation verifies a crossing draft in one call with the long factors for every drafted position, so its output
 * can differ from its plain generate there; this rule does not.)
 */
final class LongRopePasses {

    /** One pass of the model over {@code tokens} appended to the cache, with the short or the long factors. */
    interface Pass {
        float[][] run(int[] tokens, int numLogits, boolean longFactors);
    }

    /** What a longrope model's cache keeps besides keys and values: the tokens, and the factors they were rotated with. */
    static final class State {
        final int[] tokens;
        boolean longFactors;

        State(int capacity) {
            this.tokens = new int[capacity];
        }
    }

    private LongRopePasses() {
    }

    /** {@link io.specula.model.CausalLm#forward} for a longrope model whose passes are {@code pass}. */
    static float[][] forward(int[] tokens, KvCache cache, State state, int original, int numLogits, Pass pass) {
        int start = cache.length();
        int n = tokens.length;
        if (start + n > state.tokens.length) {
            return pass.run(tokens, numLogits, false);   // the cache refuses it with its own message
        }
        if (start == 0) {
            state.longFactors = n > original;
            System.arraycopy(tokens, 0, state.tokens, 0, n);
            return pass.run(tokens, numLogits, state.longFactors);
        }
        int split = Math.max(0, Math.min(n, original - start));   // positions start + [0, split) use the short factors
        float[][] shortRows = new float[0][];
        if (split > 0) {
            recomputeIfNeeded(cache, state, false, pass);
            int[] part = Arrays.copyOfRange(tokens, 0, split);
            System.arraycopy(part, 0, state.tokens, start, split);
            shortRows = pass.run(part, Math.max(0, numLogits - (n - split)), false);
        }
        if (split == n) {
            return shortRows;
        }
        recomputeIfNeeded(cache, state, true, pass);
        int[] part = Arrays.copyOfRange(tokens, split, n);
        System.arraycopy(part, 0, state.tokens, start + split, n - split);
        float[][] longRows = pass.run(part, Math.min(numLogits, n - split), true);
        float[][] out = Arrays.copyOf(shortRows, shortRows.length + longRows.length);
        System.arraycopy(longRows, 0, out, shortRows.length, longRows.length);
        return out;
    }

    /** Recomputes the keys and values of every cached position with the other factors, when they differ. */
    private static void recomputeIfNeeded(KvCache cache, State state, boolean longFactors, Pass pass) {
        int length = cache.length();
        if (length == 0 || state.longFactors == longFactors) {
            state.longFactors = longFactors;
            return;
        }
        int[] held = Arrays.copyOf(state.tokens, length);
        cache.truncate(0);
        pass.run(held, 0, longFactors);
        state.longFactors = longFactors;
    }
}
