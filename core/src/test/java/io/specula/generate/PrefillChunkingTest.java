package io.specula.generate;

import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.speculative.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A prompt fed in chunks gives what one pass gives (issue 19, item 8): the same logits for any number of them, wherever
 * the chunks split, and a KV cache the next decoding step reads the same way.
 */
class PrefillChunkingTest {

    static int[] tokens(int n, long seed) {
        Random random = new Random(seed);
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = 1 + random.nextInt(TinyLlama.VOCAB - 1);
        }
        return t;
    }

    @Test
    void chunkedPassesGiveTheLogitsOfOnePass() {
        CausalLm model = TinyLlama.model(7);
        int[] prompt = tokens(37, 3);
        for (int numLogits : new int[] { 0, 1, 5, 12, 37 }) {
            float[][] whole;
            float[] nextWhole;
            try (KvCache cache = model.newCache(64)) {
                whole = model.forward(prompt, cache, numLogits);
                nextWhole = model.forward(new int[] { 4 }, cache, 1)[0];
            }
            for (int chunk : new int[] { 1, 5, 8, 36, 37, 100 }) {
                CausalLm chunked = PrefillChunking.wrap(model, chunk);
                try (KvCache cache = chunked.newCache(64)) {
                    float[][] got = chunked.forward(prompt, cache, numLogits);
                    assertThat(cache.length()).isEqualTo(prompt.length);
                    assertThat(got).hasNumberOfRows(numLogits);
                    for (int i = 0; i < numLogits; i++) {
                        assertClose(got[i], whole[i], "chunk " + chunk + ", row " + i);
                    }
                    assertClose(chunked.forward(new int[] { 4 }, cache, 1)[0], nextWhole, "next step, chunk " + chunk);
                }
            }
        }
    }

    @Test
    void shortPassesGoStraightThroughAndWrappingTwiceKeepsOneLayer() {
        CausalLm model = TinyLlama.model(8);
        CausalLm chunked = PrefillChunking.wrap(PrefillChunking.wrap(model, 4), 16);
        assertThat(((PrefillChunking) chunked).model()).isSameAs(model);
        assertThat(((PrefillChunking) chunked).chunk()).isEqualTo(16);
        assertThat(chunked.config()).isSameAs(model.config());
    }

    static void assertClose(float[] a, float[] b, String what) {
        assertThat(a).hasSameSizeAs(b);
        for (int v = 0; v < a.length; v++) {
            assertThat(a[v]).as(what + " [" + v + "]").isCloseTo(b[v], within(2e-5f));
        }
    }
}
