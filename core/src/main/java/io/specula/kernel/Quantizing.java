package io.specula.kernel;

/**
 * Runs a quantizer over a matrix read a chunk of rows at a time: the chunk is read on the calling thread (sequential
 * file reads), its rows are quantized on all threads of the kernel's {@link RowPool}.
 */
final class Quantizing {

    /** About this many floats per chunk: a few MB, so reading and quantizing take turns without a large buffer. */
    private static final int CHUNK_FLOATS = 1 << 20;

    /** Quantizes row {@code row} of the matrix, which is row {@code r} of {@code chunk}. */
    interface RowJob {
        void row(float[] chunk, int first, int r, int row);
    }

    private Quantizing() {
    }

    static void inChunks(FloatRows source, int rows, int cols, RowJob job) {
        int chunkRows = Math.max(1, Math.min(rows, CHUNK_FLOATS / Math.max(1, cols)));
        float[] chunk = new float[chunkRows * cols];
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
}
