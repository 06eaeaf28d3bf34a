package io.specula.model;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** config.json of Gemma 3 and Phi-3 / Phi-4-mini as published and as transformers 5 saves it; refusals by field. */
class Gemma3AndPhi3ConfigTest {

    private static final Path FILE = Path.of("/models/m/config.json");

    /** google/gemma-3-1b-it's config.json (transformers 4.50 layout). */
    static final String GEMMA3_1B = """
            {"architectures":["Gemma3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,
             "attn_logit_softcapping":null,"bos_token_id":2,"cache_implementation":"hybrid","eos_token_id":[1,106],
             "final_logit_softcapping":null,"head_dim":256,"hidden_activation":"gelu_pytorch_tanh","hidden_size":1152,
             "initializer_range":0.02,"intermediate_size":6912,"max_position_embeddings":32768,
             "model_type":"gemma3_text","num_attention_heads":4,"num_hidden_layers":26,"num_key_value_heads":1,
             "pad_token_id":0,"query_pre_attn_scalar":256,"rms_norm_eps":1e-06,"rope_local_base_freq":10000,
             "rope_scaling":null,"rope_theta":1000000,"sliding_window":512,"sliding_window_pattern":6,
             "torch_dtype":"bfloat16","transformers_version":"4.50.0.dev0","use_cache":true,"vocab_size":262144}""";

    /** microsoft/Phi-3-mini-4k-instruct's config.json. */
    static final String PHI3_MINI_4K = """
            {"architectures":["Phi3ForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":1,
             "embd_pdrop":0.0,"eos_token_id":32000,"hidden_act":"silu","hidden_size":3072,"initializer_range":0.02,
             "intermediate_size":8192,"max_position_embeddings":4096,"model_type":"phi3","num_attention_heads":32,
             "num_hidden_layers":32,"num_key_value_heads":32,"original_max_position_embeddings":4096,
             "pad_token_id":32000,"resid_pdrop":0.0,"rms_norm_eps":1e-05,"rope_scaling":null,"rope_theta":10000.0,
             "sliding_window":2047,"tie_word_embeddings":false,"torch_dtype":"bfloat16",
             "transformers_version":"4.40.2","use_cache":true,"vocab_size":32064}""";

    static ModelConfig parse(String json) {
        return ModelConfig.parse(FILE, json(json));
    }

    static JsonObject json(String s) {
        return JsonParser.parseString(s).getAsJsonObject();
    }

    /** {@code json} with {@code field} set to {@code value} (a JSON text). */
    static String with(String json, String field, String value) {
        JsonObject o = json(json);
        o.add(field, JsonParser.parseString(value));
        return o.toString();
    }

    private static void assertFails(String json, String... fragments) {
        assertThatThrownBy(() -> parse(json)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(FILE.toString()).hasMessageContainingAll(fragments);
    }

    /** Phi-4-mini-instruct's config.json, with its 48 short and long factors replaced by made-up ones. */
    static String phi4Mini(String ropeScalingType) {
        List<String> shortF = new ArrayList<>();
        List<String> longF = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            shortF.add(String.valueOf(1 + i / 100.0));
            longF.add(String.valueOf(1 + i));
        }
        return """
                {"architectures":["Phi3ForCausalLM"],"attention_bias":false,"bos_token_id":199999,
                 "eos_token_id":199999,"full_attn_mod":1,"hidden_act":"silu","hidden_size":3072,
                 "intermediate_size":8192,"interpolate_factor":1,"lm_head_bias":false,"max_position_embeddings":131072,
                 "mlp_bias":false,"model_type":"phi3","num_attention_heads":24,"num_hidden_layers":32,
                 "num_key_value_heads":8,"original_max_position_embeddings":4096,"pad_token_id":199999,
                 "partial_rotary_factor":0.75,"rms_norm_eps":1e-05,
                 "rope_scaling":{"long_factor":LONG,"short_factor":SHORT,"type":"TYPE"},"rope_theta":10000.0,
                 "sliding_window":262144,"tie_word_embeddings":true,"torch_dtype":"bfloat16","vocab_size":200064}"""
                .replace("LONG", longF.toString()).replace("SHORT", shortF.toString()).replace("TYPE", ropeScalingType);
    }

    @Test
    void gemma3OneBillionAsPublished() {
        ModelConfig c = parse(GEMMA3_1B);
        assertThat(c.architecture()).isEqualTo(ModelConfig.Architecture.GEMMA3);
        assertThat(c.headDim()).isEqualTo(256);
        assertThat(c.qDim()).isEqualTo(1024).isNotEqualTo(c.hiddenSize());
        assertThat(c.numKvHeads()).isEqualTo(1);
        assertThat(c.qkNorm()).isTrue();
        assertThat(c.tieWordEmbeddings()).as("Gemma3TextConfig's default").isTrue();
        assertThat(c.hiddenActivation()).isEqualTo("gelu_pytorch_tanh");
        assertThat(c.attentionScale()).isEqualTo(1f / 16);
        assertThat(c.ropeTheta()).isEqualTo(1e6);
        assertThat(c.ropeLocalTheta()).isEqualTo(1e4);
        assertThat(c.ropeLinearFactor()).isEqualTo(1.0);
        assertThat(c.finalLogitSoftcapping()).isZero();
        assertThat(c.attnLogitSoftcapping()).isZero();
        assertThat(c.eosTokenIds()).containsExactly(1, 106);
        assertThat(c.bosTokenId()).isEqualTo(2);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6f);
        // Every sixth layer is global: 5, 11, 17, 23.
        List<Integer> global = new ArrayList<>();
        for (int l = 0; l < c.numLayers(); l++) {
            if (c.windowOf(l) == 0) {
                global.add(l);
            } else {
                assertThat(c.windowOf(l)).isEqualTo(512);
            }
        }
        assertThat(global).containsExactly(5, 11, 17, 23);
    }

    @Test
    void gemma3AsTransformers5SavesIt() {
        String json = """
                {"architectures":["Gemma3ForCausalLM"],"model_type":"gemma3_text","vocab_size":100,"hidden_size":64,
                 "intermediate_size":128,"num_hidden_layers":3,"num_attention_heads":4,"num_key_value_heads":2,
                 "head_dim":32,"layer_types":["full_attention","sliding_attention","full_attention"],
                 "rope_parameters":{"full_attention":{"rope_theta":1000000.0,"rope_type":"linear","factor":8.0},
                   "sliding_attention":{"rope_theta":10000.0,"rope_type":"default"}},
                 "sliding_window":1024,"query_pre_attn_scalar":168,"final_logit_softcapping":30.0,
                 "attn_logit_softcapping":50.0}""";
        ModelConfig c = parse(json);
        assertThat(List.of(c.windowOf(0), c.windowOf(1), c.windowOf(2))).containsExactly(0, 1024, 0);
        assertThat(c.ropeLinearFactor()).isEqualTo(8.0);
        assertThat(c.ropeTheta()).isEqualTo(1e6);
        assertThat(c.ropeLocalTheta()).isEqualTo(1e4);
        assertThat(c.attentionScale()).isCloseTo((float) (1 / Math.sqrt(168)), within(1e-9f));
        assertThat(c.finalLogitSoftcapping()).isEqualTo(30.0);
        assertThat(c.attnLogitSoftcapping()).isEqualTo(50.0);
        // The legacy rope_scaling goes to the global layers, as Gemma3TextConfig does with it.
        ModelConfig legacy = parse(with(GEMMA3_1B, "rope_scaling", "{\"rope_type\":\"linear\",\"factor\":8.0}"));
        assertThat(legacy.ropeLinearFactor()).isEqualTo(8.0);
    }

    @Test
    void gemma3Defaults() {
        ModelConfig c = parse("""
                {"model_type":"gemma3_text","vocab_size":100,"hidden_size":64,"intermediate_size":128,
                 "num_hidden_layers":12,"num_attention_heads":8}""");
        assertThat(c.architecture()).isEqualTo(ModelConfig.Architecture.GEMMA3);
        assertThat(c.headDim()).isEqualTo(256);
        assertThat(c.numKvHeads()).isEqualTo(4);
        assertThat(c.slidingWindow()).isEqualTo(4096);
        assertThat(c.windowOf(5)).isZero();
        assertThat(c.windowOf(6)).isEqualTo(4096);
        assertThat(c.maxPositionEmbeddings()).isEqualTo(131072);
        assertThat(c.attentionScale()).isEqualTo(1f / 16);
        assertThat(c.eosTokenIds()).containsExactly(1);
    }

    @Test
    void gemma3Refusals() {
        assertFails(with(GEMMA3_1B, "hidden_activation", "\"gelu\""), "field 'hidden_activation'", "gelu_pytorch_tanh");
        assertFails(with(GEMMA3_1B, "use_bidirectional_attention", "true"), "use_bidirectional_attention");
        assertFails(with(GEMMA3_1B, "rope_scaling", "{\"rope_type\":\"yarn\",\"factor\":4.0}"),
                "rope_scaling.rope_type", "yarn", "'default' or 'linear'");
        assertFails(with(GEMMA3_1B, "layer_types", "[\"sliding_attention\"]"), "field 'layer_types'", "26");
        assertFails(with(GEMMA3_1B, "layer_types", String.valueOf(Collections.nCopies(26, "\"local\""))),
                "field 'layer_types'");
        assertFails(with(GEMMA3_1B, "sliding_window", "null"), "field 'sliding_window'");
        assertFails(with(GEMMA3_1B, "final_logit_softcapping", "0"), "field 'final_logit_softcapping'");
        assertFails(with(GEMMA3_1B, "architectures", "[\"Gemma3ForConditionalGeneration\"]"),
                "Gemma3ForConditionalGeneration", "text-only Gemma3ForCausalLM");
        assertFails("{\"model_type\":\"gemma3\",\"vocab_size\":10}", "field 'model_type'", "gemma3_text");
        assertFails(with(with(GEMMA3_1B, "rope_parameters", "{\"sliding_attention\":{\"rope_type\":\"linear\","
                + "\"factor\":2.0},\"full_attention\":{\"rope_type\":\"default\"}}"), "rope_scaling", "null"),
                "rope_parameters.sliding_attention");
    }

    @Test
    void phi3Mini4k() {
        ModelConfig c = parse(PHI3_MINI_4K);
        assertThat(c.architecture()).isEqualTo(ModelConfig.Architecture.PHI3);
        assertThat(c.headDim()).isEqualTo(96);
        assertThat(c.rotaryDim()).isEqualTo(96);
        assertThat(c.longRope()).isNull();
        assertThat(c.slidingWindow()).isEqualTo(2047);
        assertThat(c.windowOf(31)).isEqualTo(2047);
        assertThat(c.attentionBias()).isFalse();
        assertThat(c.qkNorm()).isFalse();
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.eosTokenIds()).containsExactly(32000);
        assertThat(c.attentionScale()).isEqualTo((float) (1 / Math.sqrt(96)));
        assertThat(parse(with(PHI3_MINI_4K, "sliding_window", "null")).slidingWindow()).isZero();
    }

    @Test
    void phi4MiniLongRopeAndPartialRotary() {
        for (String type : List.of("longrope", "su", "yarn")) {
            ModelConfig c = parse(phi4Mini(type));
            assertThat(c.headDim()).isEqualTo(128);
            assertThat(c.rotaryDim()).as("partial_rotary_factor 0.75").isEqualTo(96);
            assertThat(c.tieWordEmbeddings()).isTrue();
            ModelConfig.LongRope r = c.longRope();
            assertThat(r).as(type).isNotNull();
            assertThat(r.shortFactor()).hasSize(48);
            assertThat(r.longFactor().get(47)).isEqualTo(48.0);
            assertThat(r.originalMaxPositionEmbeddings()).isEqualTo(4096);
            // factor = 131072 / 4096 = 32: sqrt(1 + ln 32 / ln 4096)
            assertThat(r.attentionFactor()).isCloseTo(Math.sqrt(1 + Math.log(32) / Math.log(4096)), within(1e-12));
        }
    }

    @Test
    void phi3LongRopeFieldsAsTransformersReadsThem() {
        // transformers 5's layout: factors, factor and attention_factor inside rope_parameters; the top-level
        // original_max_position_embeddings and partial_rotary_factor win over the ones inside.
        String json = """
                {"architectures":["Phi3ForCausalLM"],"vocab_size":100,"hidden_size":64,"intermediate_size":128,
                 "num_hidden_layers":2,"num_attention_heads":4,"max_position_embeddings":64,
                 "original_max_position_embeddings":16,"partial_rotary_factor":0.5,
                 "rope_parameters":{"rope_type":"longrope","rope_theta":500.0,"partial_rotary_factor":1.0,
                   "original_max_position_embeddings":32,"short_factor":[1,1,1,1],"long_factor":[2,2,2,2],
                   "factor":2.0,"attention_factor":1.5}}""";
        ModelConfig c = parse(json);
        assertThat(c.rotaryDim()).isEqualTo(8);
        assertThat(c.ropeTheta()).isEqualTo(500.0);
        assertThat(c.longRope().originalMaxPositionEmbeddings()).isEqualTo(16);
        assertThat(c.longRope().attentionFactor()).isEqualTo(1.5);
        // Without attention_factor: from factor (2), not from max / original (4).
        ModelConfig noAttention = parse(json.replace(",\"attention_factor\":1.5", ""));
        assertThat(noAttention.longRope().attentionFactor())
                .isCloseTo(Math.sqrt(1 + Math.log(2) / Math.log(16)), within(1e-12));
    }

    @Test
    void phi3Refusals() {
        assertFails(with(PHI3_MINI_4K, "hidden_act", "\"gelu\""), "field 'hidden_act'", "silu");
        assertFails(with(PHI3_MINI_4K, "rope_scaling", "{\"type\":\"dynamic\",\"factor\":2.0}"),
                "rope_scaling.rope_type", "dynamic", "longrope");
        assertFails(with(PHI3_MINI_4K, "rope_scaling", "{\"type\":\"longrope\",\"short_factor\":[1.0],"
                + "\"long_factor\":[1.0]}"), "rope_scaling.short_factor", "48 positive numbers");
        assertFails(phi4Mini("longrope").replace("\"partial_rotary_factor\":0.75", "\"partial_rotary_factor\":0.7"),
                "field 'partial_rotary_factor'", "even");
    }
}
