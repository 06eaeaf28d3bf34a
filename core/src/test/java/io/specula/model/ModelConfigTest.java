package io.specula.model;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** config.json as transformers 4 and 5 write it, the defaults of each architecture, and errors naming the field. */
class ModelConfigTest {

    private static final Path FILE = Path.of("/models/m/config.json");

    private static final String SIZES = "\"vocab_size\":100,\"hidden_size\":64,\"intermediate_size\":128,"
            + "\"num_hidden_layers\":2,\"num_attention_heads\":4";

    static ModelConfig parse(String arch, String extra) {
        return ModelConfig.parse(FILE, json("{\"architectures\":[\"" + arch + "\"]," + SIZES + extra + "}"));
    }

    static JsonObject json(String s) {
        return JsonParser.parseString(s).getAsJsonObject();
    }

    private static void assertFails(String json, String... fragments) {
        assertThatThrownBy(() -> ModelConfig.parse(FILE, json(json)))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(FILE.toString())
                .hasMessageContainingAll(fragments);
    }

    @Test
    void llamaDefaults() {
        ModelConfig c = parse("LlamaForCausalLM", "");
        assertThat(c.architecture()).isEqualTo(ModelConfig.Architecture.LLAMA);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(2048);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6f);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.ropeScaling()).isNull();
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.attentionBias()).isFalse();
        assertThat(c.qkNorm()).isFalse();
        assertThat(c.slidingWindow()).isZero();
        assertThat(c.bosTokenId()).isEqualTo(1);
        assertThat(c.eosTokenIds()).containsExactly(2);
        assertThat(c.torchDtype()).isEqualTo("float32");
    }

    @Test
    void mistralDefaults() {
        ModelConfig c = parse("MistralForCausalLM", ",\"sliding_window\":4096,\"attention_bias\":true");
        assertThat(c.maxPositionEmbeddings()).isEqualTo(131072);
        assertThat(c.slidingWindow()).isEqualTo(4096);
        assertThat(c.attentionBias()).as("Mistral has no attention biases, whatever the file says").isFalse();
        assertThat(parse("MistralForCausalLM", ",\"sliding_window\":null").slidingWindow()).isZero();
    }

    @Test
    void qwen2Defaults() {
        ModelConfig c = parse("Qwen2ForCausalLM", ",\"sliding_window\":4096,\"use_sliding_window\":false");
        assertThat(c.attentionBias()).isTrue();
        assertThat(c.qkNorm()).isFalse();
        assertThat(c.maxPositionEmbeddings()).isEqualTo(32768);
        assertThat(c.slidingWindow()).isZero();
        assertThat(c.bosTokenId()).isEqualTo(-1);
        assertThat(c.eosTokenIds()).isEmpty();
    }

    @Test
    void qwen3Defaults() {
        ModelConfig c = parse("Qwen3ForCausalLM", "");
        assertThat(c.qkNorm()).isTrue();
        assertThat(c.attentionBias()).isFalse();
        assertThat(c.headDim()).as("Qwen3Config's default head_dim").isEqualTo(128);
        assertThat(c.qDim()).isEqualTo(512);
        assertThat(parse("Qwen3ForCausalLM", ",\"head_dim\":32").headDim()).isEqualTo(32);
    }

    @Test
    void transformers5Layout() {
        ModelConfig c = parse("LlamaForCausalLM", ",\"dtype\":\"bfloat16\",\"rope_parameters\":{"
                + "\"rope_theta\":500000.0,\"rope_type\":\"default\"},\"eos_token_id\":[5,6],\"bos_token_id\":4,"
                + "\"num_key_value_heads\":2,\"tie_word_embeddings\":true");
        assertThat(c.torchDtype()).isEqualTo("bfloat16");
        assertThat(c.ropeTheta()).isEqualTo(500000.0);
        assertThat(c.ropeScaling()).isNull();
        assertThat(c.eosTokenIds()).containsExactly(5, 6);
        assertThat(c.bosTokenId()).isEqualTo(4);
        assertThat(c.kvDim()).isEqualTo(32);
        assertThat(c.tieWordEmbeddings()).isTrue();
    }

    @Test
    void llama3RopeScalingInBothLayouts() {
        String scaling = "{\"rope_type\":\"llama3\",\"factor\":8.0,\"low_freq_factor\":1.0,\"high_freq_factor\":4.0,"
                + "\"original_max_position_embeddings\":64";
        ModelConfig legacy = parse("LlamaForCausalLM", ",\"rope_theta\":500000.0,\"rope_scaling\":" + scaling + "}");
        ModelConfig v5 = parse("LlamaForCausalLM", ",\"rope_parameters\":" + scaling + ",\"rope_theta\":500000.0}");
        for (ModelConfig c : List.of(legacy, v5)) {
            assertThat(c.ropeTheta()).isEqualTo(500000.0);
            assertThat(c.ropeScaling()).isEqualTo(new ModelConfig.RopeScaling(8.0, 1.0, 4.0, 64));
        }
        assertThat(parse("LlamaForCausalLM", ",\"rope_scaling\":{\"type\":\"default\"}").ropeScaling()).isNull();
    }

    @Test
    void torchDtypeOfOlderFiles() {
        assertThat(parse("LlamaForCausalLM", ",\"torch_dtype\":\"float16\"").torchDtype()).isEqualTo("float16");
    }

    @Test
    void architectureFromModelTypeWhenArchitecturesIsMissing() {
        ModelConfig c = ModelConfig.parse(FILE, json("{\"model_type\":\"qwen2\"," + SIZES + "}"));
        assertThat(c.architecture()).isEqualTo(ModelConfig.Architecture.QWEN2);
    }

    @Test
    void missingField() {
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":100,\"hidden_size\":64,"
                + "\"num_hidden_layers\":2,\"num_attention_heads\":4}", "field 'intermediate_size'", "got nothing");
        assertFails("{" + SIZES + "}", "field 'architectures'", "missing");
    }

    @Test
    void wrongType() {
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"num_key_value_heads\":\"2\"}",
                "field 'num_key_value_heads'", "positive integer", "\"2\"");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"rms_norm_eps\":[1e-5]}",
                "field 'rms_norm_eps'");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"tie_word_embeddings\":\"yes\"}",
                "field 'tie_word_embeddings'", "true or false");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"head_dim\":16.5}", "field 'head_dim'");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"eos_token_id\":[2,\"x\"]}",
                "field 'eos_token_id'", "token id");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"rope_parameters\":"
                + "{\"rope_type\":\"default\",\"rope_theta\":-1}}", "rope_parameters.rope_theta");
        assertFails("{\"architectures\":\"LlamaForCausalLM\"," + SIZES + "}", "field 'architectures'", "a list");
    }

    @Test
    void unsupportedArchitectureAndRope() {
        assertFails("{\"architectures\":[\"GPT2LMHeadModel\"]," + SIZES + "}", "unsupported architecture 'GPT2LMHeadModel'",
                "LlamaForCausalLM");
        assertFails("{\"model_type\":\"gpt2\"," + SIZES + "}", "field 'model_type'", "gpt2");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"rope_scaling\":{\"rope_type\":\"yarn\","
                + "\"factor\":4.0}}", "field 'rope_scaling.rope_type'", "yarn");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"rope_parameters\":{\"rope_type\":"
                + "\"llama3\",\"factor\":8.0}}", "field 'rope_parameters.low_freq_factor'");
        assertFails("{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + ",\"num_key_value_heads\":3}",
                "num_key_value_heads", "does not divide");
    }

    @Test
    void readsTheFileAndNamesItWhenBroken(@TempDir Path dir) throws IOException {
        assertThatThrownBy(() -> ModelConfig.read(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(dir.resolve("config.json").toString()).hasMessageContaining("missing");
        Files.writeString(dir.resolve("config.json"), "{\"architectures\":[");
        assertThatThrownBy(() -> ModelConfig.read(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(dir.resolve("config.json").toString()).hasMessageContaining("not valid JSON");
        Files.writeString(dir.resolve("config.json"), "{\"architectures\":[\"LlamaForCausalLM\"]," + SIZES + "}");
        assertThat(ModelConfig.read(dir).vocabSize()).isEqualTo(100);
    }
}
