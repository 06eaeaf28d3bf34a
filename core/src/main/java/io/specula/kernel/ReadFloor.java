package io.specula.kernel;

import static jdk.incubator.vector.VectorOperators.ADD;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * For {@link MatMulBenchmark}: reads every weight of a matrix once on the same threads as {@link VectorMatMul} and
 * does nothing else, so its time is the memory-read floor of a 1-position product in the same run.
 */
final class ReadFloor implements RowPool.RowTask {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private final RowPool pool = RowPool.shared();
    private float[] w;
    private int in;
    private final float[] sink = new float[1 << 16];

    /** Sums the rows of w[out][in]; returns one of the sums so the reads cannot be removed. */
    float read(float[] w, int out, int in) {
        this.w = w;
        this.in = in;
        pool.run(this, out, 4);
        return sink[out % sink.length];
    }

    @Override
    public void rows(int from, int to) {
        int bound = S.loopBound(in);
        for (int o = from; o < to; o++) {
            FloatVector acc = FloatVector.zero(S);
            for (int i = 0, row = o * in; i < bound; i += S.length()) {
                acc = acc.add(FloatVector.fromArray(S, w, row + i));
            }
            sink[o % sink.length] = acc.reduceLanes(ADD);
        }
    }
}
