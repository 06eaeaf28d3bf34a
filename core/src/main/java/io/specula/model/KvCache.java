package io.specula.model;

/**
 * The keys and values of one sequence, preallocated to a fixed capacity and written in place. Speculative decoding
 * rolls rejected drafts back with {@link #truncate(int)}: positions at and after the new length are simply
 * overwritten by the next forward pass.
 */
public interface KvCache extends AutoCloseable {

    /** Number of positions whose keys and values are in the cache (the position of the next token). */
    int length();

    /** Maximum number of positions this cache can hold. */
    int capacity();

    /** Forgets every position at or after {@code length}; {@code 0 <= length <= length()}. */
    void truncate(int length);

    /** Releases the cache's memory (native memory on the DJL path). */
    @Override
    void close();
}
