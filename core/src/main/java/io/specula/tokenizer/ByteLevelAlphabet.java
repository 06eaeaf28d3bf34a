package io.specula.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's byte-level alphabet ({@code bytes_to_unicode}): every byte is written as a printable character, the
 * printable Latin-1 ones as themselves and the others as U+0100 and up, in byte order. Byte-level BPE vocabularies
 * (GPT-2, Llama 3, Qwen) spell their tokens in it.
 */
final class ByteLevelAlphabet {

    private static final int[] BYTE_OF = new int[0x200];

    static {
        Arrays.fill(BYTE_OF, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            int symbol = printable ? b : 256 + next++;
            BYTE_OF[symbol] = b;
        }
    }

    private ByteLevelAlphabet() {
    }

    /** The byte the symbol stands for, or -1 when it is not in the alphabet. */
    static int byteOf(char symbol) {
        return symbol < BYTE_OF.length ? BYTE_OF[symbol] : -1;
    }
}
