package io.specula.kernel;

/** Shape and length checks shared by the {@link WeightMatrix} implementations. */
final class MatrixChecks {

    private MatrixChecks() {
    }

    /** {@code rows * cols}, checked to be a valid shape that fits one Java array. */
    static int size(String what, long rows, long cols) {
        if (rows < 0 || cols < 0) {
            throw new IllegalArgumentException(what + ": negative shape " + rows + " x " + cols);
        }
        long n = rows * cols;
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(what + ": " + rows + " x " + cols + " = " + n
                    + " weights, more than one Java array can hold");
        }
        return (int) n;
    }

    static void length(String what, String array, long expected, int actual) {
        if (actual != expected) {
            throw new IllegalArgumentException(what + ": " + array + " holds " + actual + " values, " + expected
                    + " expected");
        }
    }

    static void blocks(String what, int cols, int blockSize) {
        if (cols % blockSize != 0) {
            throw new IllegalArgumentException(what + ": " + cols + " columns are not a multiple of the block size "
                    + blockSize);
        }
    }
}
