package io.specula.model;

import static io.specula.testing.Logits.argmax;

import io.specula.kernel.ScalarMatMul;
import io.specula.engine.ModelLoader;
import io.specula.model.gemma3.Gemma3Weights;
import io.specula.model.llama.LlamaWeights;
import io.specula.model.safetensors.DType;
import io.specula.model.safetensors.SafeTensorsFile;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyModels.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** The tiny model fixture: Hugging Face names and config, deterministic bytes, and a model that is not degenerate. */
class TinyModelsTest {

    @TempDir
    Path tmp;

    @Test
    void configJsonIsWhatTransformersWrites() throws IOException {
        Path dir = TinyModels.spec(Family.LLAMA3, 300, 1, 2, 3).writeTo(tmp.resolve("m"));
        String config = Files.readString(dir.resolve("config.json"));
        assertThat(config).startsWith("{\n  \"architectures\": [\n    \"LlamaForCausalLM\"\n  ],\n"
                + "  \"attention_bias\": false,\n");
        assertThat(config).contains("  \"rms_norm_eps\": 1e-05,\n", "  \"pad_token_id\": null,\n",
                "  \"rope_parameters\": {\n    \"factor\": 8.0,\n    \"high_freq_factor\": 4.0,\n"
                        + "    \"low_freq_factor\": 1.0,\n    \"original_max_position_embeddings\": 64,\n"
                        + "    \"rope_theta\": 500000.0,\n    \"rope_type\": \"llama3\"\n  },\n",
                "  \"dtype\": \"float32\",\n", "  \"model_type\": \"llama\",\n");
        assertThat(config).endsWith("  \"vocab_size\": 300\n}\n");
        assertThat(Files.readString(dir.resolve("generation_config.json"))).isEqualTo("""
                {
                  "bos_token_id": 1,
                  "eos_token_id": [
                    2,
                    3
                  ],
                  "transformers_version": "5.0.0"
                }
                """);
        ModelConfig c = ModelConfig.read(dir);
        assertThat(c.ropeScaling()).isEqualTo(new ModelConfig.RopeScaling(8, 1, 4, 64));
        assertThat(c.ropeTheta()).isEqualTo(500000.0);
        assertThat(c.eosTokenIds()).containsExactly(2);
        assertThat(GenerationConfig.read(dir).eosTokenIds()).containsExactly(2, 3);
        // head_dim 16, theta 5e5, original context 64: some frequencies are kept, some scaled, one smoothed.
        long scaled = 0;
        long kept = 0;
        for (int i = 0; i < c.headDim() / 2; i++) {
            double wavelen = 2 * Math.PI * Math.pow(c.ropeTheta(), 2.0 * i / c.headDim());
            scaled += wavelen > 64 ? 1 : 0;
            kept += wavelen < 16 ? 1 : 0;
        }
        assertThat(scaled).isBetween(1L, 6L);
        assertThat(kept).isBetween(1L, 6L);
    }

    @ParameterizedTest
    @EnumSource(Family.class)
    void tensorNamesAndShapesFollowTheConfig(Family family) {
        Path dir = TinyModels.spec(family, 97, 0, 1).writeTo(tmp.resolve(family.name()));
        ModelConfig c = ModelConfig.read(dir);
        assertThat(c.architecture().name()).isEqualTo(family == Family.LLAMA3 ? "LLAMA" : family.name());
        try (ModelWeights w = ModelWeights.open(dir)) {
            int per = switch (family) {
                case QWEN2 -> 12;
                case QWEN3 -> 11;
                case GEMMA3 -> 13;   // four norms, q/k norms, q, k, v, o, gate, up, down
                case PHI3 -> 6;      // qkv_proj and gate_up_proj fused
                default -> 9;
            };
            // Gemma 3 is tied (no lm_head) by default
            assertThat(w.names()).hasSize((family == Family.GEMMA3 ? 2 : 3) + per * c.numLayers());
            assertThat(w.names()).contains("model.embed_tokens.weight", "model.norm.weight",
                    "model.layers.1.self_attn.o_proj.weight", "model.layers.0.mlp.down_proj.weight",
                    "model.layers.1.post_attention_layernorm.weight", "model.layers.0.input_layernorm.weight");
            if (family == Family.GEMMA3) {
                assertThat(w.names()).contains("model.layers.2.pre_feedforward_layernorm.weight",
                        "model.layers.2.post_feedforward_layernorm.weight", "model.layers.0.self_attn.q_norm.weight");
                assertThat(c.windowOf(0)).isEqualTo(4);
                assertThat(c.windowOf(2)).isZero();
                Gemma3Weights.load(c, w);
                return;
            }
            assertThat(w.names()).contains("lm_head.weight");
            if (family == Family.PHI3) {
                assertThat(w.info("model.layers.0.self_attn.qkv_proj.weight").shape())
                        .containsExactly(c.qDim() + 2L * c.kvDim(), c.hiddenSize());
                assertThat(w.info("model.layers.0.mlp.gate_up_proj.weight").shape())
                        .containsExactly(2L * c.intermediateSize(), c.hiddenSize());
            }
            if (family == Family.QWEN2) {
                assertThat(w.info("model.layers.0.self_attn.k_proj.bias").shape()).containsExactly(c.kvDim());
            }
            if (family == Family.QWEN3) {
                assertThat(c.headDim()).isEqualTo(24);
                assertThat(c.qDim()).isNotEqualTo(c.hiddenSize());
                assertThat(w.info("model.layers.1.self_attn.q_norm.weight").shape()).containsExactly(24);
            }
            // LlamaWeights asks for every tensor with the shape config.json implies.
            LlamaWeights.load(c, w);
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(dir.resolve("model.safetensors"))) {
            assertThat(f.metadata()).containsEntry("format", "pt");
        }
    }

    @Test
    void tiedModelsHaveNoLmHead() {
        Path dir = TinyModels.spec(Family.LLAMA, 50, 1, 2).tied(true).writeTo(tmp);
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThat(w.contains("lm_head.weight")).isFalse();
            assertThat(ModelConfig.read(dir).tieWordEmbeddings()).isTrue();
        }
    }

    @Test
    void sameSpecSameBytesAndTheReaderGetsBackWhatTheSpecSays() throws IOException {
        TinyModels.Spec spec = TinyModels.spec(Family.QWEN2, 64, 1, 2).dtype(DType.BF16).seed(7);
        Path a = spec.writeTo(tmp.resolve("a"));
        Path b = spec.writeTo(tmp.resolve("b"));
        for (String f : List.of("config.json", "generation_config.json", "model.safetensors")) {
            assertThat(Files.readAllBytes(a.resolve(f))).as(f).isEqualTo(Files.readAllBytes(b.resolve(f)));
        }
        try (ModelWeights w = ModelWeights.open(a)) {
            for (Map.Entry<String, float[]> e : spec.weights().entrySet()) {
                assertThat(w.info(e.getKey()).dtype()).isEqualTo(DType.BF16);
                assertThat(w.floats(e.getKey())).as(e.getKey()).containsExactly(e.getValue());
            }
        }
        assertThat(spec.seed(8).weights().get("model.norm.weight"))
                .isNotEqualTo(spec.seed(7).weights().get("model.norm.weight"));
    }

    @Test
    void shardedModelsHaveAnIndex() {
        TinyModels.Spec spec = TinyModels.spec(Family.MISTRAL, 80, 1, 2).dtype(DType.F16).shards(3);
        Path dir = spec.writeTo(tmp);
        assertThat(dir.resolve("model.safetensors")).doesNotExist();
        assertThat(dir.resolve("model.safetensors.index.json")).exists();
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThat(w.names()).containsExactlyInAnyOrderElementsOf(spec.weights().keySet());
            assertThat(new HashSet<>(w.names().stream().map(w::fileOf).toList())).hasSizeGreaterThanOrEqualTo(3);
            assertThat(w.floats("lm_head.weight", 80, 64)).containsExactly(spec.weights().get("lm_head.weight"));
        }
    }

    /** Greedy decoding must not collapse into one repeated token at once: the fixture is used to test decoding. */
    static List<org.junit.jupiter.params.provider.Arguments> familiesTiedAndUntied() {
        List<org.junit.jupiter.params.provider.Arguments> out = new ArrayList<>();
        for (Family f : Family.values()) {
            out.add(org.junit.jupiter.params.provider.Arguments.of(f, false));
            out.add(org.junit.jupiter.params.provider.Arguments.of(f, true));
        }
        return out;
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.MethodSource("familiesTiedAndUntied")
    void greedyDecodingWandersOverManyTokens(Family family, boolean tied) {
        Path dir = TinyModels.spec(family, 256, 1, 2).tied(tied).writeTo(tmp.resolve(family.name() + tied));
        ModelConfig c = ModelConfig.read(dir);
        List<Integer> out = new ArrayList<>();
        try (ModelWeights w = ModelWeights.open(dir);
             CausalLm m = ModelLoader.javaModel(c, new WeightLoader(w, Quantization.NONE, false), new ScalarMatMul());
             KvCache cache = m.newCache(128)) {
            float[] logits = m.forward(new int[]{1, 17, 42, 99}, cache, 1)[0];
            for (int i = 0; i < 48; i++) {
                int next = argmax(logits);
                out.add(next);
                logits = m.forward(new int[]{next}, cache, 1)[0];
            }
        }
        assertThat(new HashSet<>(out)).as("distinct tokens in %s", out).hasSizeGreaterThanOrEqualTo(12);
        // Random models can still fall into a loop after a few dozen tokens (tied ones more easily); what tests
        // need is that they do not start out repeating one token.
        int run = 1;
        int longest = 1;
        for (int i = 1; i < 24; i++) {
            run = out.get(i).equals(out.get(i - 1)) ? run + 1 : 1;
            longest = Math.max(longest, run);
        }
        assertThat(longest).as("longest run of one token in the first 24 of %s", out).isLessThanOrEqualTo(2);
    }
}
