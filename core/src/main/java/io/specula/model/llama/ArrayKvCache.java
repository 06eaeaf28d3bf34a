package io.specula.model.llama;

import io.specula.SpeculaException;
import io.specula.model.KvCache;

/**
 * Keys and values in Java arrays, one pair per layer, laid out [position][kvHeads * headDim] so that a new
 * position is written in place and truncation only moves the length back.
 */
final class ArrayKvCache implements KvCache {

    final float[][] keys;
    final float[][] values;
    private final int capacity;
    private final int kvDim;
    private int length;

    ArrayKvCache(int layers, int capacity, int kvDim) {
        this.capacity = capacity;
        this.kvDim = kvDim;
        this.keys = new float[layers][];
        this.values = new float[layers][];
        for (int l = 0; l < layers; l++) {
            keys[l] = new float[capacity * kvDim];
            values[l] = new float[capacity * kvDim];
        }
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

    /** Makes room for {@code n} more positions; the forward pass then writes them. */
    void reserve(int n) {
        if (length + n > capacity) {
            throw new SpeculaException("KV cache: " + (length + n) + " positions needed but the sequence's cache holds "
                    + capacity + " (prompt + max tokens exceed the configured context)");
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
