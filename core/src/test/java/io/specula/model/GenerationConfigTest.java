package io.specula.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GenerationConfigTest {

    @TempDir
    Path dir;

    @Test
    void absentFileGivesTransformersDefaults() {
        GenerationConfig g = GenerationConfig.read(dir);
        assertThat(g).isEqualTo(GenerationConfig.defaults());
        assertThat(g.eosTokenIds()).isEmpty();
        assertThat(g.doSample()).isFalse();
        assertThat(g.temperature()).isEqualTo(1.0);
        assertThat(g.topK()).isEqualTo(50);
        assertThat(g.topP()).isEqualTo(1.0);
        assertThat(g.hasMaxNewTokens()).isFalse();
        assertThat(g.bosTokenId()).isEqualTo(-1);
    }

    @Test
    void readsEveryField() throws IOException {
        Files.writeString(dir.resolve("generation_config.json"), """
                {
                  "bos_token_id": 128000,
                  "do_sample": true,
                  "eos_token_id": [128001, 128008, 128009],
                  "pad_token_id": 0,
                  "temperature": 0.6,
                  "top_k": 20,
                  "top_p": 0.9,
                  "repetition_penalty": 1.05,
                  "max_new_tokens": 256,
                  "transformers_version": "5.0.0"
                }
                """);
        GenerationConfig g = GenerationConfig.read(dir);
        assertThat(g.eosTokenIds()).containsExactly(128001, 128008, 128009);
        assertThat(g.bosTokenId()).isEqualTo(128000);
        assertThat(g.padTokenId()).isZero();
        assertThat(g.doSample()).isTrue();
        assertThat(g.temperature()).isEqualTo(0.6);
        assertThat(g.topK()).isEqualTo(20);
        assertThat(g.topP()).isEqualTo(0.9);
        assertThat(g.repetitionPenalty()).isEqualTo(1.05);
        assertThat(g.maxNewTokens()).isEqualTo(256);
    }

    @Test
    void singleEosAndNulls() throws IOException {
        Files.writeString(dir.resolve("generation_config.json"),
                "{\"eos_token_id\": 2, \"pad_token_id\": null, \"temperature\": null}");
        GenerationConfig g = GenerationConfig.read(dir);
        assertThat(g.eosTokenIds()).containsExactly(2);
        assertThat(g.padTokenId()).isEqualTo(-1);
        assertThat(g.temperature()).isEqualTo(1.0);
    }

    @Test
    void errorsNameTheFileAndField() throws IOException {
        Path file = dir.resolve("generation_config.json");
        String[][] cases = {
                {"{\"eos_token_id\": \"2\"}", "field 'eos_token_id'"},
                {"{\"eos_token_id\": [1, -2]}", "field 'eos_token_id'"},
                {"{\"do_sample\": 1}", "field 'do_sample'"},
                {"{\"temperature\": -0.5}", "field 'temperature'"},
                {"{\"temperature\": \"hot\"}", "field 'temperature'"},
                {"{\"top_p\": 1.5}", "field 'top_p'"},
                {"{\"top_p\": 0}", "field 'top_p'"},
                {"{\"top_k\": 2.5}", "field 'top_k'"},
                {"{\"max_new_tokens\": -1}", "field 'max_new_tokens'"},
                {"{\"repetition_penalty\": 0}", "field 'repetition_penalty'"},
                {"[1, 2]", "expected a JSON object"},
                {"{\"eos_token_id\": ", "not valid JSON"},
        };
        for (String[] c : cases) {
            Files.writeString(file, c[0]);
            assertThatThrownBy(() -> GenerationConfig.read(dir)).as(c[0])
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageContaining(file.toString())
                    .hasMessageContaining(c[1]);
        }
    }
}
