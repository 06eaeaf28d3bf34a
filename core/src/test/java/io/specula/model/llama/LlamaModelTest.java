package io.specula.model.llama;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.kernel.ScalarMatMul;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.ModelFormatException;
import io.specula.model.TensorSource;
import io.specula.testing.CacheConsistency;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** The forward pass against itself: KV-cached decoding must give what a full pass over the sequence gives. */
class LlamaModelTest {

    /** Float32 sums in a different order differ in the last bits; 1e-4 absolute is far below any logit gap that matters. */
    private static final float TOLERANCE = 1e-4f;

    static ModelConfig config(String arch) {
        String extra = switch (arch) {
            case "Qwen2ForCausalLM" -> "";
            case "Qwen3ForCausalLM" -> ",\"head_dim\":24";
            case "MistralForCausalLM" -> ",\"sliding_window\":6";
            // longrope switching at 8 positions, half of each head rotated, a sliding window
            case "Phi3ForCausalLM" -> ",\"original_max_position_embeddings\":8,\"partial_rotary_factor\":0.5,"
                    + "\"sliding_window\":5,\"rope_scaling\":{\"type\":\"longrope\",\"short_factor\":[1.0,1.5],"
                    + "\"long_factor\":[3.0,40.0]}";
            default -> ",\"rope_scaling\":{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,"
                    + "\"high_freq_factor\":4.0,\"original_max_position_embeddings\":16}";
        };
        JsonObject json = JsonParser.parseString("{\"architectures\":[\"" + arch + "\"],\"vocab_size\":50,"
                + "\"hidden_size\":32,\"intermediate_size\":48,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                + "\"num_key_value_heads\":2,\"max_position_embeddings\":64,\"rms_norm_eps\":1e-5" + extra + "}")
                .getAsJsonObject();
        return ModelConfig.parse(Path.of("config.json"), json);
    }

    static TensorSource random(long seed) {
        return new TensorSource() {
            @Override
            public boolean contains(String name) {
                return !name.equals("lm_head.weight");
            }

            @Override
            public float[] floats(String name, long... shape) {
                long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
                SplittableRandom r = new SplittableRandom(seed ^ name.hashCode());
                float[] out = new float[(int) n];
                boolean norm = name.endsWith("norm.weight");
                for (int i = 0; i < n; i++) {
                    out[i] = norm ? (float) (1 + 0.1 * r.nextGaussian()) : (float) (0.2 * r.nextGaussian());
                }
                return out;
            }
        };
    }

    static LlamaModel model(String arch) {
        ModelConfig c = config(arch);
        return new LlamaModel(c, LlamaWeights.load(c, random(42)), new ScalarMatMul());
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"})
    void incrementalDecodingMatchesOneFullPass(String arch) {
        LlamaModel m = model(arch);
        int[] tokens = {1, 7, 3, 9, 22, 4, 17, 8, 30, 2, 11, 5};
        float[][] full;
        try (KvCache cache = m.newCache(32)) {
            full = m.forward(tokens, cache, tokens.length);
        }
        try (KvCache cache = m.newCache(32)) {
            float[][] prefix = m.forward(Arrays.copyOf(tokens, 5), cache, 5);
            for (int i = 0; i < 5; i++) {
                assertClose(prefix[i], full[i]);
            }
            for (int i = 5; i < tokens.length; i++) {
                float[][] step = m.forward(new int[] {tokens[i]}, cache, 1);
                assertClose(step[0], full[i]);
            }
            assertThat(cache.length()).isEqualTo(tokens.length);
        }
    }

    /**
     * Passes of 1..5 tokens with rollbacks give, at every position, what one fresh pass over the sequence up to it
     * gives: across Mistral's and Phi-3's sliding windows and across Phi-3's longrope switch in both directions.
     */
    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
            "Phi3ForCausalLM"})
    void everyPassWidthAndRollbackGivesTheLogitsOfOneFreshPass(String arch) {
        LlamaModel m = model(arch);
        for (long seed = 1; seed <= 4; seed++) {
            assertThat(CacheConsistency.check(m, 24, 5, seed, TOLERANCE)).isGreaterThan(20);
        }
    }

    @org.junit.jupiter.api.Test
    void phi3LongRopeSwitchesAtTheOriginalContextAsTransformers() {
        LlamaModel m = model("Phi3ForCausalLM");
        int[] tokens = {1, 7, 3, 9, 22, 4, 17, 8, 30, 2, 11, 5};
        // A prompt longer than original_max_position_embeddings (8) is one pass with the long factors: its last row
        // is what incremental decoding gives there (which recomputes with them when it crosses 8).
        float[][] prompt;
        try (KvCache cache = m.newCache(32)) {
            prompt = m.forward(tokens, cache, tokens.length);
        }
        try (KvCache cache = m.newCache(32)) {
            float[][] first = m.forward(Arrays.copyOf(tokens, 5), cache, 5);
            float[] last = null;
            for (int i = 5; i < tokens.length; i++) {
                last = m.forward(new int[] {tokens[i]}, cache, 1)[0];
            }
            assertClose(last, prompt[tokens.length - 1]);
            // Below the switch a short prompt and the long one's rows differ (short factors vs long ones).
            float diff = 0;
            for (int v = 0; v < first[4].length; v++) {
                diff = Math.max(diff, Math.abs(first[4][v] - prompt[4][v]));
            }
            assertThat(diff).isGreaterThan(1e-2f);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "Qwen3ForCausalLM"})
    void truncatingAndRedecodingIsLikeNeverHavingGoneFurther(String arch) {
        LlamaModel m = model(arch);
        try (KvCache cache = m.newCache(32)) {
            m.forward(new int[] {1, 2, 3, 4}, cache, 1);
            float[][] expected = m.forward(new int[] {5, 6}, cache, 2);
            // Go further with a wrong continuation, then roll back to 4 positions and re-decode.
            m.forward(new int[] {40, 41, 42}, cache, 3);
            cache.truncate(4);
            float[][] again = m.forward(new int[] {5, 6}, cache, 2);
            assertClose(again[0], expected[0]);
            assertClose(again[1], expected[1]);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM"})
    void missingTensorNamesTheTensor(String arch) {
        ModelConfig c = config(arch);
        TensorSource broken = new TensorSource() {
            @Override
            public boolean contains(String name) {
                return false;
            }

            @Override
            public float[] floats(String name, long... shape) {
                throw new ModelFormatException(Path.of("model.safetensors"), "tensor '" + name + "' is missing");
            }
        };
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> LlamaWeights.load(c, broken))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("model.embed_tokens.weight");
    }

    static void assertClose(float[] actual, float[] expected) {
        assertThat(actual).hasSameSizeAs(expected);
        for (int i = 0; i < actual.length; i++) {
            assertThat(Math.abs(actual[i] - expected[i])).as("logit %d: %s vs %s", i, actual[i], expected[i])
                    .isLessThanOrEqualTo(TOLERANCE);
        }
    }
}
