package io.specula.generate.structured;

import io.specula.tokenizer.Tokenizer;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;

/**
 * A tokenizer's vocabulary as byte strings, sorted so that tokens sharing a prefix sit together: running the grammar
 * over the vocabulary then steps each shared prefix once (as over a trie) and skips every token below a prefix the
 * grammar rejects. Built once per tokenizer. Special tokens and empty tokens are left out: they never extend a
 * constrained output (the end-of-sequence tokens are handled by the constraint itself).
 */
final class TokenVocabulary {

    /** Token ids in the byte order of their bytes. */
    final int[] ids;

    /** bytes[i]: the bytes of ids[i], each as a char 0..255 (the grammar's alphabet). */
    final char[][] bytes;

    /** lcp[i]: the length of the prefix bytes[i] shares with bytes[i - 1] (0 for i = 0). */
    final int[] lcp;

    /** Ids of the tokenizer: the mask covers 0 .. size - 1; larger ids (a model's padding rows) are never allowed. */
    final int size;

    private TokenVocabulary(int[] ids, char[][] bytes, int size) {
        this.ids = ids;
        this.bytes = bytes;
        this.size = size;
        this.lcp = new int[ids.length];
        for (int i = 1; i < ids.length; i++) {
            char[] a = bytes[i - 1];
            char[] b = bytes[i];
            int n = Math.min(a.length, b.length);
            int k = 0;
            while (k < n && a[k] == b[k]) {
                k++;
            }
            lcp[i] = k;
        }
    }

    static TokenVocabulary of(Tokenizer tokenizer) {
        int n = tokenizer.vocabSize();
        char[][] all = new char[n][];
        for (int id = 0; id < n; id++) {
            byte[] b = tokenizer.tokenBytes(id);
            if (b != null && b.length > 0) {
                char[] c = new char[b.length];
                for (int i = 0; i < b.length; i++) {
                    c[i] = (char) (b[i] & 0xFF);
                }
                all[id] = c;
            }
        }
        int[] ids = IntStream.range(0, n).filter(id -> all[id] != null).boxed()
            .sorted(Comparator.comparing(id -> all[id], Arrays::compare))
            .mapToInt(Integer::intValue)
            .toArray();
        char[][] sorted = new char[ids.length][];
        for (int i = 0; i < ids.length; i++) {
            sorted[i] = all[ids[i]];
        }
        return new TokenVocabulary(ids, sorted, n);
    }
}
