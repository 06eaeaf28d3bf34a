package io.specula.gguf;

import io.specula.kernel.HalfFloats;

import java.nio.ByteBuffer;

/**
 * ggml's block layouts (ggml-common.h; dequantize_row_* in ggml-quants.c) decoded into the arrays of the engine's
 * weight formats, one row at a time, without going through float32 and without changing any weight: see
 * {@link io.specula.kernel.Q8Matrix} and {@link io.specula.kernel.Q4Matrix} for why each mapping gives the same floats
 * llama.cpp computes. Each method reads one row of {@code cols} weights starting at {@code src.position()} (little-
 * endian) and writes it at the given element or block index of the destination arrays; it leaves the buffer's position
 * after the row.
 *
 * <pre>
 *   Q8_0  f16 d, int8 q[32]                         -> Q8, blocks of 32: scale d, q as is
 *   Q5_0  f16 d, u32 qh, u8 qs[16]                  -> Q8, blocks of 32: scale d, q = (5-bit value) - 16
 *   Q6_K  u8 ql[128], u8 qh[64], int8 sc[16], f16 d -> Q8, blocks of 16: scale d*sc[j], q = (6-bit value) - 32
 *   Q4_0  f16 d, u8 qs[16]                          -> Q4: scale d, minimum -8d, nibbles as is
 *   Q4_1  f16 d, f16 m, u8 qs[16]                   -> Q4: scale d, minimum m, nibbles as is
 *   Q4_K  f16 d, f16 dmin, u8 scales[12], u8 qs[128] -> Q4, 8 blocks of 32 per 256: scale d*sc, minimum -(dmin*m),
 *                                                      nibbles regrouped
 * </pre>
 */
final class GgmlBlocks {

    private GgmlBlocks() {
    }

    private static float f16(ByteBuffer b) {
        return HalfFloats.f16ToFloat(b.getShort());
    }

    /** Q8_0 row into {@code q[qAt..]} and {@code scales[sAt..]} (one scale per 32). */
    static void q8_0(ByteBuffer src, int cols, byte[] q, int qAt, float[] scales, int sAt) {
        for (int b = 0; b < cols / 32; b++) {
            scales[sAt + b] = f16(src);
            src.get(q, qAt + 32 * b, 32);
        }
    }

    /** Q5_0 row: the 5-bit values minus 16 (-16..15) as int8, one scale per 32. */
    static void q5_0(ByteBuffer src, int cols, byte[] q, int qAt, float[] scales, int sAt) {
        for (int b = 0; b < cols / 32; b++) {
            scales[sAt + b] = f16(src);
            int qh = src.getInt();
            int at = qAt + 32 * b;
            byte[] qs = new byte[16];
            src.get(qs);
            for (int j = 0; j < 16; j++) {
                int x = qs[j] & 0xff;
                int lo = (x & 0x0f) | (((qh >>> j) & 1) << 4);
                int hi = (x >>> 4) | (((qh >>> (j + 16)) & 1) << 4);
                q[at + j] = (byte) (lo - 16);
                q[at + j + 16] = (byte) (hi - 16);
            }
        }
    }

    /** Q6_K row: 6-bit values minus 32 (-32..31) as int8, one scale {@code d * sc} per 16 (exact in float). */
    static void q6_K(ByteBuffer src, int cols, byte[] q, int qAt, float[] scales, int sAt) {
        byte[] block = new byte[210];
        for (int sb = 0; sb < cols / 256; sb++) {
            float d = HalfFloats.f16ToFloat(src.getShort(src.position() + 208));
            src.get(block);   // the block in a Java array: plain indexing below
            int ql = 0;
            int qh = 128;
            int sc = 192;
            int at = qAt + 256 * sb;
            for (int n = 0; n < 2; n++) {
                for (int l = 0; l < 32; l++) {
                    int low0 = block[ql + 64 * n + l] & 0xff;
                    int low1 = block[ql + 64 * n + l + 32] & 0xff;
                    int high = block[qh + 32 * n + l] & 0xff;
                    int e = at + 128 * n + l;
                    q[e] = (byte) (((low0 & 0x0f) | ((high & 3) << 4)) - 32);
                    q[e + 32] = (byte) (((low1 & 0x0f) | (((high >>> 2) & 3) << 4)) - 32);
                    q[e + 64] = (byte) (((low0 >>> 4) | (((high >>> 4) & 3) << 4)) - 32);
                    q[e + 96] = (byte) (((low1 >>> 4) | (((high >>> 6) & 3) << 4)) - 32);
                }
            }
            for (int j = 0; j < 16; j++) {
                scales[sAt + 16 * sb + j] = d * block[sc + j];
            }
        }
    }

    /** Q4_0 row: scale d, minimum -8d (so fma(q, d, -8d) = (q - 8) d rounded once), the 16 bytes as they are. */
    static void q4_0(ByteBuffer src, int cols, byte[] q, int qAt, float[] scales, float[] mins, int bAt) {
        for (int b = 0; b < cols / 32; b++) {
            float d = f16(src);
            scales[bAt + b] = d;
            mins[bAt + b] = -8 * d;
            src.get(q, qAt + 16 * b, 16);
        }
    }

    /** Q4_1 row: scale d, minimum m, the 16 bytes as they are. */
    static void q4_1(ByteBuffer src, int cols, byte[] q, int qAt, float[] scales, float[] mins, int bAt) {
        for (int b = 0; b < cols / 32; b++) {
            scales[bAt + b] = f16(src);
            mins[bAt + b] = f16(src);
            src.get(q, qAt + 16 * b, 16);
        }
    }

    /**
     * Q4_K row: each super-block of 256 is 8 blocks of 32. ggml keeps the two blocks 2j and 2j+1 as the low and high
     * nibbles of the same 32 bytes; a Q4 block keeps column i and i + 16 in one byte, so the nibbles are regrouped.
     */
    static void q4_K(ByteBuffer src, int cols, byte[] q, int qAt, float[] scales, float[] mins, int bAt) {
        int[] sc = new int[8];
        int[] mn = new int[8];
        byte[] block = new byte[144];
        for (int sb = 0; sb < cols / 256; sb++) {
            float d = HalfFloats.f16ToFloat(src.getShort(src.position()));
            float dmin = HalfFloats.f16ToFloat(src.getShort(src.position() + 2));
            src.get(block);   // the block in a Java array: plain indexing below
            scaleMinK4(block, 4, sc, mn);
            int qs = 16;
            for (int j = 0; j < 4; j++) {
                for (int half = 0; half < 2; half++) {
                    int sub = 8 * sb + 2 * j + half;
                    scales[bAt + sub] = d * sc[2 * j + half];
                    mins[bAt + sub] = -(dmin * mn[2 * j + half]);
                    int out = qAt + 16 * sub;
                    int shift = 4 * half;
                    for (int i = 0; i < 16; i++) {
                        int lo = ((block[qs + 32 * j + i] & 0xff) >>> shift) & 0x0f;
                        int hi = ((block[qs + 32 * j + i + 16] & 0xff) >>> shift) & 0x0f;
                        q[out + i] = (byte) (lo | (hi << 4));
                    }
                }
            }
        }
    }

    /** ggml's get_scale_min_k4: eight 6-bit scales and minimums packed in 12 bytes. */
    static void scaleMinK4(byte[] b, int at, int[] sc, int[] mn) {
        for (int j = 0; j < 8; j++) {
            if (j < 4) {
                sc[j] = b[at + j] & 63;
                mn[j] = b[at + j + 4] & 63;
            } else {
                int qj4 = b[at + j + 4] & 0xff;
                sc[j] = (qj4 & 0x0f) | (((b[at + j - 4] & 0xff) >>> 6) << 4);
                mn[j] = (qj4 >>> 4) | (((b[at + j] & 0xff) >>> 6) << 4);
            }
        }
    }
}
