package io.specula.model.llama;

import io.specula.SpeculaException;
import io.specula.model.KvCache;

/**
 * Keys and values in Java arrays, one pair per layer, laid out [position][kvHeads * headDim] so that a new
 * position is written in place and truncation only moves the length back.
 *
 * <p>The arrays grow with the sequence (doubling, up to the capacity) rather than being allocated for the capacity up
 * front: a request that may use the whole context but stops early holds only what it used. The engine still reserves
 * the capacity against its KV cache budget, which bounds the worst case.
 */
final class ArrayKvCache implements KvCache {

    /** Positions allocated at first: a short prompt and answer never grow the arrays. */
    static final int INITIAL_POSITIONS = 256;

    final float[][] keys;
    final float[][] values;
    private final int capacity;
    private final int kvDim;
    private int allocated;
    private int length;

    ArrayKvCache(int layers, int capacity, int kvDim) {
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

    /** Makes room for {@code n} more positions (growing the arrays if needed); the forward pass then writes them. */
    void reserve(int n) {
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

    void advance(int n) {
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
