package io.specula.model.llama;

import io.specula.SpeculaException;
import io.specula.model.KvCache;

/**
 * Keys and values in Java arrays, one pair per layer, laid out [position][kvHeads * headDim] so that a new
 * position is written in place and truncation only moves the length back. Every layer keeps every position, also a
 * sliding-window layer (Mistral, Gemma 3's local layers, Phi-3-mini-4k): its attention reads only the window, so a
 * rollback to any length is exact, as the keys and values of the positions before the window are still there.
 * (A ring buffer of window size would save memory on such layers, but a rollback past its wrap-around would need the
 * overwritten positions back.) Used by the Java kernels' models ({@link LlamaModel}, {@code Gemma3Model}).
 *
 * <p>The arrays grow with the sequence (doubling, up to the capacity) rather than being allocated for the capacity up
 * front: a request that may use the whole context but stops early holds only what it used. The engine still reserves
 * the capacity against its KV cache budget, which bounds the worst case. A layer's arrays are therefore replaced when
 * they grow: read them through {@link #keys}/{@link #values} after {@link #reserve}, never keep them across passes.
 */
public final class ArrayKvCache implements KvCache {

    /** Positions allocated at first: a short prompt and answer never grow the arrays. */
    static final int INITIAL_POSITIONS = 256;

    final float[][] keys;
    final float[][] values;
    /** The tokens and the factors they were rotated with, for a longrope model ({@link LongRopePasses}); else null. */
    final LongRopePasses.State longRope;
    private final int capacity;
    private final int kvDim;
    private int allocated;
    private int length;

    public ArrayKvCache(int layers, int capacity, int kvDim) {
        this(layers, capacity, kvDim, false);
    }

    ArrayKvCache(int layers, int capacity, int kvDim, boolean longRope) {
        this.longRope = longRope ? new LongRopePasses.State(capacity) : null;
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.keys = new float[layers][];
        this.values = new float[layers][];
        this.allocated = Math.min(capacity, INITIAL_POSITIONS);
        for (int l = 0; l < layers; l++) {
            keys[l] = new float[allocated * kvDim];
            values[l] = new float[allocated * kvDim];
        }
    }

    /** Positions the arrays hold now (at most the capacity). */
    int allocated() {
        return allocated;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    int kvDim() {
        return kvDim;
    }

    /** Layer {@code layer}'s keys, [position][kvDim], written in place by the forward pass. */
    public float[] keys(int layer) {
        return keys[layer];
    }

    /** Layer {@code layer}'s values, laid out as {@link #keys}. */
    public float[] values(int layer) {
        return values[layer];
    }

    /** Makes room for {@code n} more positions (growing the arrays if needed); the forward pass then writes them. */
    public void reserve(int n) {
        int needed = length + n;
        if (needed > capacity) {
            throw new SpeculaException("KV cache: " + needed + " positions needed but the sequence's cache holds "
                    + capacity + " (prompt + max tokens exceed the configured context)");
        }
        if (needed > allocated) {
            int grown = (int) Math.min(capacity, Math.max(needed, 2L * allocated));
            for (int l = 0; l < keys.length; l++) {
                keys[l] = java.util.Arrays.copyOf(keys[l], grown * kvDim);
                values[l] = java.util.Arrays.copyOf(values[l], grown * kvDim);
            }
            allocated = grown;
        }
    }

    /** Counts the {@code n} positions the forward pass has written. */
    public void advance(int n) {
        length += n;
    }

    @Override
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("truncate to " + newLength + " but the cache holds " + length);
        }
        length = newLength;
    }

    @Override
    public void close() {
        // Plain Java memory: the garbage collector takes it.
    }
}
