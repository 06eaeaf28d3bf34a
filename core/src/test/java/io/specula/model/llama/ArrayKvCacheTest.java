package io.specula.model.llama;

import io.specula.SpeculaException;
import io.specula.kernel.ScalarMatMul;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The Java KV cache holds what the sequence used, not its capacity (issue 19, item 8): a cache for a whole long context
 * starts small and grows (doubling) as positions are written, up to the capacity and never past it; the values
 * written before a growth are kept.
 */
class ArrayKvCacheTest {

    static final int VOCAB = 200;

    @TempDir
    static Path tmp;

    static LlamaModel model;

    @BeforeAll
    static void load() {
        Path dir = TinyModelDirs.llama(tmp.resolve("m"), 3); // max_position_embeddings 512
        ModelConfig c = ModelConfig.read(dir);
        try (ModelWeights w = ModelWeights.open(dir)) {
            model = new LlamaModel(c, LlamaWeights.load(c, w), new ScalarMatMul());
        }
    }

    @Test
    void aCacheForALongContextHoldsOnlyWhatWasWritten() {
        int capacity = model.maxPositions();
        assertThat(capacity).isEqualTo(512);
        int[] tokens = new int[300];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = 3 + i % VOCAB;
        }
        float[] expected;
        try (KvCache big = model.newCache(capacity)) {
            expected = model.forward(tokens, big, 1)[0];
        }
        try (KvCache kv = model.newCache(capacity)) {
            ArrayKvCache cache = (ArrayKvCache) kv;
            assertThat(cache.allocated()).isEqualTo(Math.min(capacity, ArrayKvCache.INITIAL_POSITIONS));
            assertThat(cache.keys[0]).hasSize(cache.allocated() * cache.kvDim());
            // Grown in two passes: 200 positions, then 100 more (past the first allocation).
            model.forward(java.util.Arrays.copyOf(tokens, 200), kv, 0);
            float[] got = model.forward(java.util.Arrays.copyOfRange(tokens, 200, 300), kv, 1)[0];
            assertThat(cache.allocated()).isEqualTo(Math.min(capacity, 2 * ArrayKvCache.INITIAL_POSITIONS));
            assertThat(got).containsExactly(expected);
        }
    }

    @Test
    void itNeverGrowsPastItsCapacity() {
        try (KvCache kv = model.newCache(260)) {
            model.forward(new int[259], kv, 0); // token 0 is <unk>: any id does
            assertThat(((ArrayKvCache) kv).allocated()).isEqualTo(260);
            assertThatThrownBy(() -> model.forward(new int[2], kv, 1)).isInstanceOf(SpeculaException.class)
                .hasMessageContaining("261 positions needed");
        }
    }
}
