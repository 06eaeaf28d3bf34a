package io.specula.kernel;

import static jdk.incubator.vector.VectorOperators.ADD;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.S2I;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The fast CPU kernel: Java Vector API (jdk.incubator.vector), all cores, each weight read once per call.
 *
 * <p><b>Threads.</b> The output rows are split into a few contiguous blocks per thread of the shared {@link RowPool}
 * (daemon threads sized to the cores; the calling thread takes a share). Small products run on the calling thread
 * alone, where waking the others would cost more than it saves.
 *
 * <p><b>Register blocking.</b> The inner loop keeps 4 weight rows × up to 4 positions of accumulators in registers
 * (16 of AVX-512's 32): each step loads 4 weight vectors and 4 activation vectors for 16 FMAs. A 1-row × 8-position
 * loop needs 9 loads per 8 FMAs and is load-bound; 4×4 is bound by the FMA units, which is what decides the cost of a
 * verification pass (compute-bound already at 5 positions on 2 cores), while at 1 position the same loop streams the
 * weights at memory bandwidth. Rows are the outer loop and all positions the inner one, so a block of 4 weight rows
 * (32 KB at in = 2048) stays in L1/L2 while every position uses it, and the weights come from memory once. (For long
 * prefills the activations then stream from L2/L3 once per 4 rows, which is fine: that is cache, not memory.)
 *
 * <p><b>Why not pad positions</b> up to a multiple of 4: at 5 positions that would compute 8, 60% more FMAs in the
 * regime where FMAs are the cost. Instead the remainder (1–3 positions) has its own 4×3, 4×2, 4×1 loops, written out
 * because the Vector API only stays in registers with plain local variables (no arrays of vectors). The last block of
 * rows, when {@code out} is not a multiple of 4, repeats its last row instead (at most 3 redundant rows per call).
 *
 * <p><b>Tails.</b> When {@code in} is not a multiple of the vector width, the last {@code in % width} columns are
 * added in scalar code: masked loads past the end of an array take a slow path on JDK 17.
 *
 * <p>Results differ from {@link ScalarMatMul} in the last bits: each sum is accumulated in lane-wise partial sums and
 * then reduced, a different summation order.
 */
public final class VectorMatMul implements MatMul {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Below this many multiply-adds a product runs on the calling thread alone (waking a worker costs ~5–50 µs). */
    private static final long SERIAL_WORK = 1 << 16;
    /** The arguments of the call in flight on each calling thread, reused so a call allocates nothing. */
    private static final ThreadLocal<Call> CALLS = ThreadLocal.withInitial(Call::new);
    /** Per thread: 4 weight rows widened from BF16. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);
    /** Shorts and ints with as many lanes as S, for widening BF16. */
    private static final VectorSpecies<Short> HALF =
            VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, S.vectorBitSize() / 2)));
    private static final VectorSpecies<Integer> INT = VectorSpecies.of(int.class, S.vectorShape());

    private final RowPool pool;

    public VectorMatMul() {
        this(RowPool.shared());
    }

    VectorMatMul(RowPool pool) {
        this.pool = pool;
    }

    /** The vector species in use, e.g. "Species[float, 16, S_512_BIT]". */
    public static String species() {
        return S.toString();
    }

    @Override
    public void matmul(float[] x, int positions, float[] w, float[] bias, int out, int in, float[] y) {
        check(x, positions, w.length, bias, out, in, y);
        run(x, positions, w, null, bias, out, in, y);
    }

    /**
     * As {@link #matmul}, with weights stored as BF16 (half the bytes to read at 1 position) and float32 arithmetic:
     * each block of 4 weight rows is widened into a per-thread scratch that stays in cache, then multiplied by the
     * same kernels.
     */
    @Override
    public void matmulBf16(float[] x, int positions, short[] w, float[] bias, int out, int in, float[] y) {
        check(x, positions, w.length, bias, out, in, y);
        run(x, positions, null, w, bias, out, in, y);
    }

    private void run(float[] x, int positions, float[] w, short[] wBf16, float[] bias, int out, int in, float[] y) {
        if (positions == 0 || out == 0) {
            return;
        }
        Call call = CALLS.get();
        call.set(x, positions, w, wBf16, bias, out, in, y);
        try {
            if ((long) out * in * positions < SERIAL_WORK) {
                call.rows(0, out);
            } else {
                pool.run(call, out, 4);
            }
        } finally {
            call.set(null, 0, null, null, null, 0, 0, null); // do not keep the caller's arrays alive
        }
    }

    private static void check(float[] x, int positions, int wLength, float[] bias, int out, int in, float[] y) {
        if (positions < 0 || out < 0 || in < 0) {
            throw new IllegalArgumentException("positions " + positions + ", out " + out + ", in " + in);
        }
        need("x", (long) positions * in, x.length);
        need("w", (long) out * in, wLength);
        need("y", (long) positions * out, y.length);
        if (bias != null) {
            need("bias", out, bias.length);
        }
    }

    @Override
    public String name() {
        return "vector";
    }

    /** One call's arguments: the task the pool's threads run over their blocks of rows. */
    private static final class Call implements RowPool.RowTask {
        private float[] x;
        private int positions;
        private float[] w;
        private short[] wBf16;
        private float[] bias;
        private int out;
        private int in;
        private float[] y;

        void set(float[] x, int positions, float[] w, short[] wBf16, float[] bias, int out, int in, float[] y) {
            this.x = x;
            this.positions = positions;
            this.w = w;
            this.wBf16 = wBf16;
            this.bias = bias;
            this.out = out;
            this.in = in;
            this.y = y;
        }

        @Override
        public void rows(int from, int to) {
            float[] x = this.x, bias = this.bias, y = this.y;
            int positions = this.positions, out = this.out, in = this.in;
            short[] half = this.wBf16;
            float[] wb = half == null ? this.w : scratch(4 * in);
            int wFirst = 0;
            int last = to - 1;
            for (int o = from; o < to; o += 4) {
                int o1 = Math.min(o + 1, last), o2 = Math.min(o + 2, last), o3 = Math.min(o + 3, last);
                if (half != null) {
                    // BF16: widen these 4 rows into an L1/L2-resident scratch, then the same kernels as F32
                    widen(half, o * in, wb, (o3 - o + 1) * in);
                    wFirst = o;
                }
                int t = 0;
                for (; t + 4 <= positions; t += 4) {
                    rows4x4(x, t, wb, o, o1, o2, o3, wFirst, in, out, bias, y);
                }
                switch (positions - t) {
                    case 3 -> rows4x3(x, t, wb, o, o1, o2, o3, wFirst, in, out, bias, y);
                    case 2 -> rows4x2(x, t, wb, o, o1, o2, o3, wFirst, in, out, bias, y);
                    case 1 -> rows4x1(x, t, wb, o, o1, o2, o3, wFirst, in, out, bias, y);
                    default -> { }
                }
            }
        }
    }

    /** This thread's scratch of at least n floats (grows; allocates only the first time or for a wider matrix). */
    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }

    /** dst[0, n) = the floats of the BF16 values src[from, from + n): each is the high half of a float's bits. */
    private static void widen(short[] src, int from, float[] dst, int n) {
        int bound = HALF.loopBound(n);
        int i = 0;
        for (; i < bound; i += L) {
            ((IntVector) ShortVector.fromArray(HALF, src, from + i).convertShape(S2I, INT, 0))
                    .lanewise(LSHL, 16).reinterpretAsFloats().intoArray(dst, i);
        }
        for (; i < n; i++) {
            dst[i] = Bf16.toFloat(src[from + i]);
        }
    }

    // The four kernels below are one pattern written out for 4, 3, 2 and 1 positions.

    /** Rows o0..o3 × positions t..t+3: 16 accumulators, 8 loads per 16 FMAs. */
    private static void rows4x4(float[] x, int t, float[] w, int o0, int o1, int o2, int o3, int wFirst, int in,
            int out, float[] bias, float[] y) {
        int w0 = (o0 - wFirst) * in, w1 = (o1 - wFirst) * in, w2 = (o2 - wFirst) * in, w3 = (o3 - wFirst) * in;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in, x3 = x2 + in;
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a02 = FloatVector.zero(S), a03 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S), a12 = FloatVector.zero(S), a13 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a22 = FloatVector.zero(S), a23 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S), a32 = FloatVector.zero(S), a33 = FloatVector.zero(S);
        int bound = S.loopBound(in);
        for (int i = 0; i < bound; i += L) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
            FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
            FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
            FloatVector u0 = FloatVector.fromArray(S, x, x0 + i);
            a00 = v0.fma(u0, a00); a10 = v1.fma(u0, a10); a20 = v2.fma(u0, a20); a30 = v3.fma(u0, a30);
            FloatVector u1 = FloatVector.fromArray(S, x, x1 + i);
            a01 = v0.fma(u1, a01); a11 = v1.fma(u1, a11); a21 = v2.fma(u1, a21); a31 = v3.fma(u1, a31);
            FloatVector u2 = FloatVector.fromArray(S, x, x2 + i);
            a02 = v0.fma(u2, a02); a12 = v1.fma(u2, a12); a22 = v2.fma(u2, a22); a32 = v3.fma(u2, a32);
            FloatVector u3 = FloatVector.fromArray(S, x, x3 + i);
            a03 = v0.fma(u3, a03); a13 = v1.fma(u3, a13); a23 = v2.fma(u3, a23); a33 = v3.fma(u3, a33);
        }
        put(y, bias, out, o0, t, a00.reduceLanes(ADD) + tail(x, x0, w, w0, bound, in));
        put(y, bias, out, o1, t, a10.reduceLanes(ADD) + tail(x, x0, w, w1, bound, in));
        put(y, bias, out, o2, t, a20.reduceLanes(ADD) + tail(x, x0, w, w2, bound, in));
        put(y, bias, out, o3, t, a30.reduceLanes(ADD) + tail(x, x0, w, w3, bound, in));
        put(y, bias, out, o0, t + 1, a01.reduceLanes(ADD) + tail(x, x1, w, w0, bound, in));
        put(y, bias, out, o1, t + 1, a11.reduceLanes(ADD) + tail(x, x1, w, w1, bound, in));
        put(y, bias, out, o2, t + 1, a21.reduceLanes(ADD) + tail(x, x1, w, w2, bound, in));
        put(y, bias, out, o3, t + 1, a31.reduceLanes(ADD) + tail(x, x1, w, w3, bound, in));
        put(y, bias, out, o0, t + 2, a02.reduceLanes(ADD) + tail(x, x2, w, w0, bound, in));
        put(y, bias, out, o1, t + 2, a12.reduceLanes(ADD) + tail(x, x2, w, w1, bound, in));
        put(y, bias, out, o2, t + 2, a22.reduceLanes(ADD) + tail(x, x2, w, w2, bound, in));
        put(y, bias, out, o3, t + 2, a32.reduceLanes(ADD) + tail(x, x2, w, w3, bound, in));
        put(y, bias, out, o0, t + 3, a03.reduceLanes(ADD) + tail(x, x3, w, w0, bound, in));
        put(y, bias, out, o1, t + 3, a13.reduceLanes(ADD) + tail(x, x3, w, w1, bound, in));
        put(y, bias, out, o2, t + 3, a23.reduceLanes(ADD) + tail(x, x3, w, w2, bound, in));
        put(y, bias, out, o3, t + 3, a33.reduceLanes(ADD) + tail(x, x3, w, w3, bound, in));
    }

    /** Rows o0..o3 × positions t..t+2: 12 accumulators, 7 loads per 12 FMAs. */
    private static void rows4x3(float[] x, int t, float[] w, int o0, int o1, int o2, int o3, int wFirst, int in,
            int out, float[] bias, float[] y) {
        int w0 = (o0 - wFirst) * in, w1 = (o1 - wFirst) * in, w2 = (o2 - wFirst) * in, w3 = (o3 - wFirst) * in;
        int x0 = t * in, x1 = x0 + in, x2 = x1 + in;
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S), a02 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S), a12 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S), a22 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S), a32 = FloatVector.zero(S);
        int bound = S.loopBound(in);
        for (int i = 0; i < bound; i += L) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
            FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
            FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
            FloatVector u0 = FloatVector.fromArray(S, x, x0 + i);
            a00 = v0.fma(u0, a00); a10 = v1.fma(u0, a10); a20 = v2.fma(u0, a20); a30 = v3.fma(u0, a30);
            FloatVector u1 = FloatVector.fromArray(S, x, x1 + i);
            a01 = v0.fma(u1, a01); a11 = v1.fma(u1, a11); a21 = v2.fma(u1, a21); a31 = v3.fma(u1, a31);
            FloatVector u2 = FloatVector.fromArray(S, x, x2 + i);
            a02 = v0.fma(u2, a02); a12 = v1.fma(u2, a12); a22 = v2.fma(u2, a22); a32 = v3.fma(u2, a32);
        }
        put(y, bias, out, o0, t, a00.reduceLanes(ADD) + tail(x, x0, w, w0, bound, in));
        put(y, bias, out, o1, t, a10.reduceLanes(ADD) + tail(x, x0, w, w1, bound, in));
        put(y, bias, out, o2, t, a20.reduceLanes(ADD) + tail(x, x0, w, w2, bound, in));
        put(y, bias, out, o3, t, a30.reduceLanes(ADD) + tail(x, x0, w, w3, bound, in));
        put(y, bias, out, o0, t + 1, a01.reduceLanes(ADD) + tail(x, x1, w, w0, bound, in));
        put(y, bias, out, o1, t + 1, a11.reduceLanes(ADD) + tail(x, x1, w, w1, bound, in));
        put(y, bias, out, o2, t + 1, a21.reduceLanes(ADD) + tail(x, x1, w, w2, bound, in));
        put(y, bias, out, o3, t + 1, a31.reduceLanes(ADD) + tail(x, x1, w, w3, bound, in));
        put(y, bias, out, o0, t + 2, a02.reduceLanes(ADD) + tail(x, x2, w, w0, bound, in));
        put(y, bias, out, o1, t + 2, a12.reduceLanes(ADD) + tail(x, x2, w, w1, bound, in));
        put(y, bias, out, o2, t + 2, a22.reduceLanes(ADD) + tail(x, x2, w, w2, bound, in));
        put(y, bias, out, o3, t + 2, a32.reduceLanes(ADD) + tail(x, x2, w, w3, bound, in));
    }

    /** Rows o0..o3 × positions t..t+1: 8 accumulators, 6 loads per 8 FMAs. */
    private static void rows4x2(float[] x, int t, float[] w, int o0, int o1, int o2, int o3, int wFirst, int in,
            int out, float[] bias, float[] y) {
        int w0 = (o0 - wFirst) * in, w1 = (o1 - wFirst) * in, w2 = (o2 - wFirst) * in, w3 = (o3 - wFirst) * in;
        int x0 = t * in, x1 = x0 + in;
        FloatVector a00 = FloatVector.zero(S), a01 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S), a11 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S), a21 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S), a31 = FloatVector.zero(S);
        int bound = S.loopBound(in);
        for (int i = 0; i < bound; i += L) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
            FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
            FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
            FloatVector u0 = FloatVector.fromArray(S, x, x0 + i);
            a00 = v0.fma(u0, a00); a10 = v1.fma(u0, a10); a20 = v2.fma(u0, a20); a30 = v3.fma(u0, a30);
            FloatVector u1 = FloatVector.fromArray(S, x, x1 + i);
            a01 = v0.fma(u1, a01); a11 = v1.fma(u1, a11); a21 = v2.fma(u1, a21); a31 = v3.fma(u1, a31);
        }
        put(y, bias, out, o0, t, a00.reduceLanes(ADD) + tail(x, x0, w, w0, bound, in));
        put(y, bias, out, o1, t, a10.reduceLanes(ADD) + tail(x, x0, w, w1, bound, in));
        put(y, bias, out, o2, t, a20.reduceLanes(ADD) + tail(x, x0, w, w2, bound, in));
        put(y, bias, out, o3, t, a30.reduceLanes(ADD) + tail(x, x0, w, w3, bound, in));
        put(y, bias, out, o0, t + 1, a01.reduceLanes(ADD) + tail(x, x1, w, w0, bound, in));
        put(y, bias, out, o1, t + 1, a11.reduceLanes(ADD) + tail(x, x1, w, w1, bound, in));
        put(y, bias, out, o2, t + 1, a21.reduceLanes(ADD) + tail(x, x1, w, w2, bound, in));
        put(y, bias, out, o3, t + 1, a31.reduceLanes(ADD) + tail(x, x1, w, w3, bound, in));
    }

    /** Rows o0..o3 × positions t..t+0: 4 accumulators, 5 loads per 4 FMAs. */
    private static void rows4x1(float[] x, int t, float[] w, int o0, int o1, int o2, int o3, int wFirst, int in,
            int out, float[] bias, float[] y) {
        int w0 = (o0 - wFirst) * in, w1 = (o1 - wFirst) * in, w2 = (o2 - wFirst) * in, w3 = (o3 - wFirst) * in;
        int x0 = t * in;
        FloatVector a00 = FloatVector.zero(S);
        FloatVector a10 = FloatVector.zero(S);
        FloatVector a20 = FloatVector.zero(S);
        FloatVector a30 = FloatVector.zero(S);
        int bound = S.loopBound(in);
        for (int i = 0; i < bound; i += L) {
            FloatVector v0 = FloatVector.fromArray(S, w, w0 + i);
            FloatVector v1 = FloatVector.fromArray(S, w, w1 + i);
            FloatVector v2 = FloatVector.fromArray(S, w, w2 + i);
            FloatVector v3 = FloatVector.fromArray(S, w, w3 + i);
            FloatVector u0 = FloatVector.fromArray(S, x, x0 + i);
            a00 = v0.fma(u0, a00); a10 = v1.fma(u0, a10); a20 = v2.fma(u0, a20); a30 = v3.fma(u0, a30);
        }
        put(y, bias, out, o0, t, a00.reduceLanes(ADD) + tail(x, x0, w, w0, bound, in));
        put(y, bias, out, o1, t, a10.reduceLanes(ADD) + tail(x, x0, w, w1, bound, in));
        put(y, bias, out, o2, t, a20.reduceLanes(ADD) + tail(x, x0, w, w2, bound, in));
        put(y, bias, out, o3, t, a30.reduceLanes(ADD) + tail(x, x0, w, w3, bound, in));
    }


    /** The columns {@code [from, to)} past the last full vector, in scalar code. */
    private static float tail(float[] x, int xAt, float[] w, int wAt, int from, int to) {
        float sum = 0;
        for (int i = from; i < to; i++) {
            sum += x[xAt + i] * w[wAt + i];
        }
        return sum;
    }

    private static void need(String array, long size, int length) {
        if (length < size) {
            throw new IllegalArgumentException(array + " holds " + length + " floats, " + size + " are needed");
        }
    }

    private static void put(float[] y, float[] bias, int out, int o, int t, float sum) {
        y[t * out + o] = bias == null ? sum : sum + bias[o];
    }
}
