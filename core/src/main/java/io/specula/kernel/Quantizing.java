package io.specula.kernel;

import java.lang.ref.SoftReference;

/**
 * Runs a quantizer over a matrix read a chunk of rows at a time: the chunk is read on the calling thread (sequential
 * file reads), its rows are quantized on all threads of the kernel's {@link RowPool}.
 *
 * <p>The chunk is one 4 MB array per loading thread, reused for every matrix (softly held, so a JVM that no longer
 * loads can drop it): a new one per matrix was a humongous G1 allocation each time, about 260 MB of garbage over a 1B
 * model's 65 matrices, which the heap grew to hold next to the weights while loading.
 */
final class Quantizing {

    /** About this many floats per chunk: a few MB, so reading and quantizing take turns without a large buffer. */
    private static final int CHUNK_FLOATS = 1 << 20;
    private static final ThreadLocal<SoftReference<float[]>> CHUNK = new ThreadLocal<>();

    /** Quantizes row {@code row} of the matrix, which is row {@code r} of {@code chunk}. */
    interface RowJob {
        void row(float[] chunk, int first, int r, int row);
    }

    private Quantizing() {
    }

    static void inChunks(FloatRows source, int rows, int cols, RowJob job) {
        int chunkRows = Math.max(1, Math.min(rows, CHUNK_FLOATS / Math.max(1, cols)));
        float[] chunk = chunk(chunkRows * cols);
        for (int first = 0; first < rows; first += chunkRows) {
            int last = Math.min(rows, first + chunkRows);
            source.read(first, last, chunk);
            int start = first;
            RowPool.shared().run((from, to) -> {
                for (int r = from; r < to; r++) {
                    job.row(chunk, start, r, start + r);
                }
            }, last - first, 1);
        }
    }

    /** This thread's chunk, at least {@code floats} long (CHUNK_FLOATS, or one row when a row is longer). */
    private static float[] chunk(int floats) {
        SoftReference<float[]> ref = CHUNK.get();
        float[] chunk = ref == null ? null : ref.get();
        if (chunk == null || chunk.length < floats) {
            chunk = new float[Math.max(floats, CHUNK_FLOATS)];
            CHUNK.set(new SoftReference<>(chunk));
        }
        return chunk;
    }
}
