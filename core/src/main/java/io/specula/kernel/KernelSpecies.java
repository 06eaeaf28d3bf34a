package io.specula.kernel;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes every Vector API kernel uses, as constants C2 can fold: L float lanes (16 with AVX-512, 8 with
 * AVX2, 4 with NEON; capped at 16 because the block formats decode 16 weights at a time), and the short, int and byte
 * species with the same number of lanes, for widening 16-bit weights and decoding 8- and 4-bit ones.
 */
final class KernelSpecies {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED.length() > 16
            ? FloatVector.SPECIES_512 : FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** L shorts: the 16-bit weights of one float vector. */
    static final VectorSpecies<Short> H = VectorSpecies.of(short.class, VectorShape.forBitSize(Math.max(64, L * 16)));
    static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /**
     * Whether the block kernels ({@link Q8Kernels}, {@link Q4Kernels}) can run: they load L bytes at a time, and the
     * smallest byte vector is 8 bytes (64 bits), so they need 8 or 16 float lanes (AVX2, AVX-512). Elsewhere block
     * formats use the scalar kernel.
     */
    static final boolean BLOCKS = L == 8 || L == 16;
    /** L bytes (only meaningful when {@link #BLOCKS}). */
    static final VectorSpecies<Byte> B = BLOCKS
            ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : ByteVector.SPECIES_64;

    private KernelSpecies() {
    }

    static String describe() {
        return F + (BLOCKS ? "" : " (block formats use the scalar kernel: fewer than 8 float lanes)");
    }
}
