package io.specula.model.llama;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import io.specula.SpeculaException;
import io.specula.model.KvCache;

/**
 * Keys and values as native tensors on the model's device, one pair per layer, each preallocated as
 * {@code [kvHeads, capacity, headDim]} so that a forward pass writes its new positions in place (index_put into a slice)
 * and attention reads a contiguous {@code [kvHeads, length, headDim]} slice per head without copying. Truncation only
 * moves the length back. The tensors belong to the cache's own {@link NDManager}: {@link #close()} frees them at once,
 * and closing the model frees every cache it made.
 */
final class DjlKvCache implements KvCache {

    final PtNDArray[] keys;
    final PtNDArray[] values;
    /** The tokens and the factors they were rotated with, for a longrope model ({@link LongRopePasses}); else null. */
    final LongRopePasses.State longRope;
    private final NDManager manager;
    private final int capacity;
    private int length;
    private volatile boolean closed;

    DjlKvCache(NDManager parent, int layers, int kvHeads, int capacity, int headDim, DataType dtype,
               boolean longRope) {
        this.longRope = longRope ? new LongRopePasses.State(capacity) : null;
        this.capacity = capacity;
        this.manager = parent.newSubManager();
        this.keys = new PtNDArray[layers];
        this.values = new PtNDArray[layers];
        try {
            Shape shape = new Shape(kvHeads, capacity, headDim);
            for (int l = 0; l < layers; l++) {
                keys[l] = (PtNDArray) manager.zeros(shape, dtype);
                values[l] = (PtNDArray) manager.zeros(shape, dtype);
            }
            // A caller's NDScope must not close the cache's tensors behind its back.
            ai.djl.ndarray.NDScope.unregister(keys);
            ai.djl.ndarray.NDScope.unregister(values);
        } catch (RuntimeException | Error e) {
            manager.close();
            throw e;
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

    /** Checks there is room for {@code n} more positions; the forward pass then writes them. */
    void reserve(int n) {
        if (closed) {
            throw new IllegalStateException("KV cache is closed");
        }
        if (length + n > capacity) {
            throw new SpeculaException("KV cache: " + (length + n) + " positions needed but the sequence's cache holds "
                    + capacity + " (prompt + max tokens exceed the configured context)");
        }
    }

    void advance(int n) {
        length += n;
    }

    /** The cache's own manager: slices read during a forward pass are attached elsewhere, never here. */
    NDManager manager() {
        return manager;
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
        if (!closed) {
            closed = true;
            manager.close();
        }
    }
}
