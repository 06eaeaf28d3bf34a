package io.specula.model.llama;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.types.DataType;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The DJL/PyTorch forward pass against the plain-Java reference, on the random configurations of
 * {@link LlamaModelTest} (Llama 3 rope scaling, Mistral sliding window, Qwen2 biases, Qwen3 q/k norms, GQA in all).
 * Both sides compute in float32; they differ only in summation order (blocked BLAS dot products and PyTorch's
 * softmax against sequential Java loops), which moves logits of magnitude ~1 by ~1e-6, so 1e-4 absolute
 * ({@link LlamaModelTest#assertClose}) is a tight check that still ignores rounding.
 */
class DjlLlamaModelTest {

    private static final String[] ARCHS =
            {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"};
    private static final int[] TOKENS = {1, 7, 3, 9, 22, 4, 17, 8, 30, 2, 11, 5};

    private static final Map<String, DjlLlamaModel> CPU_MODELS = new HashMap<>();

    /** One model per architecture for the class: uploading is cheap, but creating managers needn't repeat. */
    static synchronized DjlLlamaModel djl(String arch) {
        return CPU_MODELS.computeIfAbsent(arch, a -> {
            ModelConfig c = LlamaModelTest.config(a);
            return DjlLlamaModel.create(c, LlamaModelTest.random(42), Device.cpu(), DataType.FLOAT32);
        });
    }

    @AfterAll
    static void closeModels() {
        CPU_MODELS.values().forEach(DjlLlamaModel::close);
        CPU_MODELS.clear();
    }

    static float[][] referenceFullPass(String arch) {
        LlamaModel ref = LlamaModelTest.model(arch);
        try (KvCache cache = ref.newCache(32)) {
            return ref.forward(TOKENS, cache, TOKENS.length);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"})
    void fullPassMatchesTheJavaReference(String arch) {
        float[][] expected = referenceFullPass(arch);
        DjlLlamaModel m = djl(arch);
        try (KvCache cache = m.newCache(32)) {
            float[][] actual = m.forward(TOKENS, cache, TOKENS.length);
            assertThat(actual).hasNumberOfRows(TOKENS.length);
            for (int i = 0; i < TOKENS.length; i++) {
                LlamaModelTest.assertClose(actual[i], expected[i]);
            }
            assertThat(cache.length()).isEqualTo(TOKENS.length);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"})
    void incrementalPassesMatchOneFullPass(String arch) {
        float[][] full = referenceFullPass(arch);
        DjlLlamaModel m = djl(arch);
        try (KvCache cache = m.newCache(32)) {
            // A 5-token prefill, a 3-token pass at an offset (mask with start > 0; Mistral's window of 6 starts to
            // cut keys off), then single-token decoding past the window.
            float[][] prefix = m.forward(Arrays.copyOf(TOKENS, 5), cache, 5);
            for (int i = 0; i < 5; i++) {
                LlamaModelTest.assertClose(prefix[i], full[i]);
            }
            float[][] three = m.forward(Arrays.copyOfRange(TOKENS, 5, 8), cache, 2);
            LlamaModelTest.assertClose(three[0], full[6]);
            LlamaModelTest.assertClose(three[1], full[7]);
            for (int i = 8; i < TOKENS.length; i++) {
                float[][] step = m.forward(new int[] {TOKENS[i]}, cache, 1);
                LlamaModelTest.assertClose(step[0], full[i]);
            }
            assertThat(cache.length()).isEqualTo(TOKENS.length);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen3ForCausalLM"})
    void truncatingAndRedecodingIsLikeNeverHavingGoneFurther(String arch) {
        DjlLlamaModel m = djl(arch);
        try (KvCache cache = m.newCache(32)) {
            m.forward(new int[] {1, 2, 3, 4}, cache, 1);
            float[][] expected = m.forward(new int[] {5, 6}, cache, 2);
            m.forward(new int[] {40, 41, 42}, cache, 3);
            cache.truncate(4);
            assertThat(cache.length()).isEqualTo(4);
            float[][] again = m.forward(new int[] {5, 6}, cache, 2);
            LlamaModelTest.assertClose(again[0], expected[0]);
            LlamaModelTest.assertClose(again[1], expected[1]);
        }
    }

    @Test
    void bothFactoriesGiveTheSameModelAndOnlyTheLastLogitsAreComputed() {
        String arch = "Qwen2ForCausalLM";
        ModelConfig c = LlamaModelTest.config(arch);
        float[][] full = referenceFullPass(arch);
        try (DjlLlamaModel m = DjlLlamaModel.create(c, LlamaWeights.load(c, LlamaModelTest.random(42)),
                Device.cpu(), DataType.FLOAT32);
             KvCache cache = m.newCache(16)) {
            assertThat(m.forward(Arrays.copyOf(TOKENS, 4), cache, 0)).isEmpty();
            float[][] last = m.forward(Arrays.copyOfRange(TOKENS, 4, 9), cache, 1);
            assertThat(last).hasNumberOfRows(1);
            LlamaModelTest.assertClose(last[0], full[8]);
        }
    }

    @Test
    void rejectsWhatItCannotCompute() {
        DjlLlamaModel m = djl("LlamaForCausalLM");
        try (KvCache cache = m.newCache(4)) {
            assertThatThrownBy(() -> m.forward(new int[] {50}, cache, 1)).hasMessageContaining("vocabulary");
            assertThatThrownBy(() -> m.forward(new int[] {1, 2, 3, 4, 5}, cache, 1)).hasMessageContaining("KV cache");
            assertThat(cache.length()).isZero();
        }
        assertThatThrownBy(() -> m.newCache(65)).hasMessageContaining("max_position_embeddings");
        try (KvCache foreign = LlamaModelTest.model("LlamaForCausalLM").newCache(4)) {
            assertThatThrownBy(() -> m.forward(new int[] {1}, foreign, 1)).hasMessageContaining("own newCache");
        }
        ModelConfig c = LlamaModelTest.config("LlamaForCausalLM");
        assertThatThrownBy(() -> DjlLlamaModel.create(c, LlamaModelTest.random(1), Device.cpu(), DataType.FLOAT16))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("GPU");
        assertThatThrownBy(() -> DjlLlamaModel.create(c, LlamaModelTest.random(1), Device.cpu(), DataType.BFLOAT16))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /**
     * Every tensor of a pass is closed before it returns: the model's manager tree (weights, constants, caches)
     * holds exactly as many arrays after 200 passes of every shape as before, and a closed cache gives its arrays
     * back.
     */
    @Test
    void nativeMemoryDoesNotGrowAcrossPasses() {
        ModelConfig c = LlamaModelTest.config("MistralForCausalLM");
        try (DjlLlamaModel m = DjlLlamaModel.create(c, LlamaModelTest.random(7), Device.cpu(), DataType.FLOAT32)) {
            int weightsOnly = m.liveArrays();
            KvCache cache = m.newCache(40);
            int withCache = m.liveArrays();
            assertThat(withCache - weightsOnly).isEqualTo(2 * c.numLayers());
            for (int i = 0; i < 200; i++) {
                if (cache.length() + 5 > cache.capacity()) {
                    cache.truncate(i % 3);
                }
                int n = 1 + i % 5;
                int[] tokens = new int[n];
                Arrays.fill(tokens, i % c.vocabSize());
                m.forward(tokens, cache, 1 + i % n);
                assertThat(m.liveArrays()).isEqualTo(withCache);
            }
            cache.close();
            cache.close();
            assertThat(m.liveArrays()).isEqualTo(weightsOnly);
            assertThatThrownBy(() -> m.forward(new int[] {1}, cache, 1)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void concurrentPassesOnDifferentCachesAgreeWithTheReference() throws Exception {
        String arch = "Qwen3ForCausalLM";
        float[][] full = referenceFullPass(arch);
        DjlLlamaModel m = djl(arch);
        int before = m.liveArrays();
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<float[][]>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                int split = 1 + t % 6;
                results.add(pool.submit(() -> {
                    try (KvCache cache = m.newCache(16)) {
                        float[][] out = new float[TOKENS.length][];
                        float[][] head = m.forward(Arrays.copyOf(TOKENS, split), cache, split);
                        System.arraycopy(head, 0, out, 0, split);
                        for (int i = split; i < TOKENS.length; i++) {
                            out[i] = m.forward(new int[] {TOKENS[i]}, cache, 1)[0];
                        }
                        return out;
                    }
                }));
            }
            for (Future<float[][]> f : results) {
                float[][] out = f.get();
                for (int i = 0; i < TOKENS.length; i++) {
                    LlamaModelTest.assertClose(out[i], full[i]);
                }
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(m.liveArrays()).isEqualTo(before);
    }

    static boolean cudaAvailable() {
        try {
            return Engine.getEngine(DjlLlamaModel.ENGINE).getGpuCount() > 0;
        } catch (RuntimeException e) {
            return false;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"})
    void onCudaFloat32MatchesAndFloat16IsClose(String arch) {
        assumeTrue(cudaAvailable(), "no CUDA device");
        float[][] full = referenceFullPass(arch);
        ModelConfig c = LlamaModelTest.config(arch);
        try (DjlLlamaModel m = DjlLlamaModel.create(c, LlamaModelTest.random(42), Device.gpu(), DataType.FLOAT32);
             KvCache cache = m.newCache(32)) {
            float[][] prefix = m.forward(Arrays.copyOf(TOKENS, 6), cache, 6);
            for (int i = 0; i < 6; i++) {
                LlamaModelTest.assertClose(prefix[i], full[i]);
            }
            for (int i = 6; i < TOKENS.length; i++) {
                LlamaModelTest.assertClose(m.forward(new int[] {TOKENS[i]}, cache, 1)[0], full[i]);
            }
        }
        try (DjlLlamaModel m = DjlLlamaModel.create(c, LlamaModelTest.random(42), Device.gpu(), DataType.FLOAT16)) {
            assertHalfPrecisionDecodingMatches(m, full);
        }
    }

    /**
     * The float16 code path (casts around norms, softmax, logits; a float16 KV cache) without a GPU: PyTorch computes
     * float16 on the CPU too, slowly, so the public factories refuse it but the package's unchecked one allows it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"})
    void float16PathStaysWithinHalfPrecisionOfTheReference(String arch) {
        float[][] full = referenceFullPass(arch);
        try (DjlLlamaModel m = DjlLlamaModel.upload(LlamaModelTest.config(arch), LlamaModelTest.random(42),
                Device.cpu(), DataType.FLOAT16)) {
            assertThat(m.dataType()).isEqualTo(DataType.FLOAT16);
            assertHalfPrecisionDecodingMatches(m, full);
        }
    }

    /**
     * A 6-token prefill then single-token steps against the float32 reference. float16 keeps ~3 significant digits
     * through 2 layers (measured: at most 0.011 on logits up to 4.1, i.e. 0.3%); allow 2% of the logit scale.
     */
    private static void assertHalfPrecisionDecodingMatches(DjlLlamaModel m, float[][] full) {
        try (KvCache cache = m.newCache(32)) {
            float[][] actual = new float[TOKENS.length][];
            System.arraycopy(m.forward(Arrays.copyOf(TOKENS, 6), cache, 6), 0, actual, 0, 6);
            for (int i = 6; i < TOKENS.length; i++) {
                actual[i] = m.forward(new int[] {TOKENS[i]}, cache, 1)[0];
            }
            for (int i = 0; i < TOKENS.length; i++) {
                float scale = 1;
                for (float v : full[i]) {
                    scale = Math.max(scale, Math.abs(v));
                }
                for (int j = 0; j < full[i].length; j++) {
                    assertThat(Math.abs(actual[i][j] - full[i][j])).as("position %d logit %d", i, j)
                            .isLessThanOrEqualTo(0.02f * scale);
                }
            }
        }
    }
}
