package io.specula.model.gemma3;

import com.google.gson.JsonParser;
import io.specula.kernel.ScalarMatMul;
import io.specula.kernel.VectorMatMul;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.TensorSource;
import io.specula.testing.CacheConsistency;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Gemma 3's forward pass against itself (transformers is the golden files' job, TransformersGoldenTest): the KV cache
 * under every pass width and rollback, across the local layers' window, and the kernels against each other.
 */
class Gemma3ModelTest {

    private static final float TOLERANCE = 1e-4f;

    /** 4 layers (local, local, global, local), window 3, head_dim 16 != 32 / 4, final softcapping. */
    static ModelConfig config() {
        return ModelConfig.parse(Path.of("config.json"), JsonParser.parseString("""
                {"architectures":["Gemma3ForCausalLM"],"vocab_size":50,"hidden_size":32,"intermediate_size":48,
                 "num_hidden_layers":4,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,
                 "max_position_embeddings":64,"sliding_window":3,"sliding_window_pattern":3,
                 "query_pre_attn_scalar":8,"final_logit_softcapping":5.0,"rope_scaling":{"rope_type":"linear",
                 "factor":4.0}}""").getAsJsonObject());
    }

    /** Random weights; Gemma's norm weights are around 0 (the factor is 1 + w). */
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
                    out[i] = (float) ((norm ? 0.1 : 0.2) * r.nextGaussian());
                }
                return out;
            }
        };
    }

    static Gemma3Model model(io.specula.kernel.MatMul kernel) {
        ModelConfig c = config();
        return new Gemma3Model(c, Gemma3Weights.load(c, random(42)), kernel);
    }

    @Test
    void everyPassWidthAndRollbackGivesTheLogitsOfOneFreshPass() {
        Gemma3Model m = model(new ScalarMatMul());
        for (long seed = 1; seed <= 4; seed++) {
            assertThat(CacheConsistency.check(m, 24, 5, seed, TOLERANCE)).isGreaterThan(20);
        }
    }

    @Test
    void incrementalDecodingMatchesOneFullPass() {
        Gemma3Model m = model(new ScalarMatMul());
        int[] tokens = {2, 7, 3, 9, 22, 4, 17, 8, 30, 2, 11, 5};
        float[][] full;
        try (KvCache cache = m.newCache(32)) {
            full = m.forward(tokens, cache, tokens.length);
        }
        try (KvCache cache = m.newCache(32)) {
            float[][] rows = m.forward(Arrays.copyOf(tokens, 4), cache, 4);
            for (int i = 0; i < 4; i++) {
                CacheConsistency.assertClose(rows[i], full[i], TOLERANCE, "prompt row " + i);
            }
            for (int i = 4; i < tokens.length; i++) {
                CacheConsistency.assertClose(m.forward(new int[] {tokens[i]}, cache, 1)[0], full[i], TOLERANCE,
                        "step " + i);
            }
        }
        // Softcapping bounds every logit by final_logit_softcapping.
        for (float[] row : full) {
            for (float v : row) {
                assertThat(Math.abs(v)).isLessThan(5f);
            }
        }
    }

    @Test
    void vectorAndScalarKernelsAgree() {
        Gemma3Model scalar = model(new ScalarMatMul());
        Gemma3Model vector = model(new VectorMatMul());
        int[] tokens = {2, 7, 3, 9, 22, 4, 17, 8, 30, 2, 11, 5};
        try (KvCache a = scalar.newCache(16); KvCache b = vector.newCache(16)) {
            float[][] x = scalar.forward(tokens, a, tokens.length);
            float[][] y = vector.forward(tokens, b, tokens.length);
            for (int i = 0; i < x.length; i++) {
                CacheConsistency.assertClose(y[i], x[i], TOLERANCE, "row " + i);
            }
        }
    }

    @Test
    void theLocalLayersSeeOnlyTheirWindow() {
        // With every layer local (pattern larger than the layer count), a token more than (window - 1) * layers
        // positions back cannot reach the last position: changing it leaves the last logits as they are.
        ModelConfig c = ModelConfig.parse(Path.of("config.json"), JsonParser.parseString("""
                {"architectures":["Gemma3ForCausalLM"],"vocab_size":50,"hidden_size":32,"intermediate_size":48,
                 "num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,
                 "max_position_embeddings":64,"sliding_window":3,"sliding_window_pattern":100}""")
                .getAsJsonObject());
        Gemma3Model m = new Gemma3Model(c, Gemma3Weights.load(c, random(7)), new ScalarMatMul());
        int[] a = {2, 7, 3, 9, 22, 4, 17, 8};
        int[] b = a.clone();
        b[2] = 40;   // 5 positions before the last: beyond 2 layers x (3 - 1)
        int[] near = a.clone();
        near[4] = 40;   // 3 positions before: within reach
        assertThat(last(m, b)).containsExactly(last(m, a));
        assertThat(last(m, near)).isNotEqualTo(last(m, a));
    }

    private static float[] last(Gemma3Model m, int[] tokens) {
        try (KvCache cache = m.newCache(tokens.length)) {
            return m.forward(tokens, cache, 1)[0];
        }
    }

    @Test
    void onlyGemma3Configurations() {
        ModelConfig llama = ModelConfig.parse(Path.of("config.json"), JsonParser.parseString("""
                {"architectures":["LlamaForCausalLM"],"vocab_size":50,"hidden_size":32,"intermediate_size":48,
                 "num_hidden_layers":2,"num_attention_heads":4}""").getAsJsonObject());
        assertThatThrownBy(() -> new Gemma3Model(llama, Gemma3Weights.load(config(), random(1)), new ScalarMatMul()))
                .hasMessageContaining("LlamaForCausalLM");
    }
}
