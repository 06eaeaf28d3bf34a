package io.specula.model;

import io.specula.model.safetensors.DType;
import io.specula.model.safetensors.SafeTensorsWriter;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyModels.Family;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A model directory's weights: single file or shards, and the errors a broken directory gives. */
class ModelWeightsTest {

    @TempDir
    Path dir;

    private void writeSharded() {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        w.add("a", DType.F32, new long[]{2, 3}, new float[]{1, 2, 3, 4, 5, 6});
        w.add("b", DType.BF16, new long[]{2}, new float[]{7, 8});
        w.add("c", DType.F16, new long[]{1}, new float[]{9});
        w.writeSharded(dir, 24);
    }

    @Test
    void singleFile() {
        new SafeTensorsWriter().add("w", DType.F16, new long[]{2, 2}, new float[]{1, 2, 3, 4})
                .write(dir.resolve("model.safetensors"));
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThat(w.names()).containsExactly("w");
            assertThat(w.contains("w")).isTrue();
            assertThat(w.info("w").dtype()).isEqualTo(DType.F16);
            assertThat(w.floats("w")).containsExactly(1, 2, 3, 4);
            assertThat(w.floats("w", 2, 2)).containsExactly(1, 2, 3, 4);
            assertThat(w.fileOf("w")).isEqualTo(dir.resolve("model.safetensors"));
        }
    }

    @Test
    void shards() {
        writeSharded();
        assertThat(dir.resolve("model-00001-of-00002.safetensors")).exists();
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThat(w.names()).containsExactly("a", "b", "c");
            assertThat(w.floats("a", 2, 3)).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(w.floats("b")).containsExactly(7, 8);
            assertThat(w.floats("c")).containsExactly(9);
            assertThat(w.fileOf("a").getFileName().toString()).isEqualTo("model-00001-of-00002.safetensors");
            assertThat(w.fileOf("c").getFileName().toString()).isEqualTo("model-00002-of-00002.safetensors");
        }
    }

    @Test
    void shapeMismatchNamesFileTensorAndBothShapes() {
        TinyModels.spec(Family.LLAMA, 50, 1, 2).writeTo(dir);
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThatThrownBy(() -> w.floats("model.norm.weight", 32))
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageContainingAll(dir.resolve("model.safetensors").toString(), "tensor 'model.norm.weight'",
                            "expected shape [32] (from config.json)", "got [64]");
        }
    }

    @Test
    void missingTensorNamesTensorAndDirectory() {
        TinyModels.spec(Family.LLAMA, 50, 1, 2).tied(true).writeTo(dir);
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThatThrownBy(() -> w.floats("lm_head.weight", 50, 64))
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageContainingAll(dir.toString(), "tensor 'lm_head.weight' not found", "model.safetensors");
        }
    }

    @Test
    void noWeightsFileListsWhatWasExpected() throws IOException {
        assertThatThrownBy(() -> ModelWeights.open(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(dir.toString(), "model.safetensors", "model.safetensors.index.json");
        Files.writeString(dir.resolve("pytorch_model.bin"), "x");
        assertThatThrownBy(() -> ModelWeights.open(dir)).hasMessageContaining("convert them to safetensors");
    }

    @Test
    void missingShardNamesTheIndex() throws IOException {
        writeSharded();
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertThatThrownBy(() -> ModelWeights.open(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(dir.resolve("model.safetensors.index.json").toString(),
                        "model-00002-of-00002.safetensors", "does not exist", "'b'");
    }

    @Test
    void shardWithoutTheListedTensorNamesTheIndex() throws IOException {
        writeSharded();
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, Files.readString(index).replace(
                "\"c\": \"model-00002-of-00002.safetensors\"", "\"c\": \"model-00001-of-00002.safetensors\""));
        assertThatThrownBy(() -> ModelWeights.open(dir))
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(index.toString(), "'c'", "model-00001-of-00002.safetensors",
                        "does not contain it");
    }

    @Test
    void brokenIndex() throws IOException {
        Path index = dir.resolve("model.safetensors.index.json");
        Files.writeString(index, "{\"weight_map\": ");
        assertThatThrownBy(() -> ModelWeights.open(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(index.toString(), "not valid JSON");
        Files.writeString(index, "{\"metadata\": {}}");
        assertThatThrownBy(() -> ModelWeights.open(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(index.toString(), "'weight_map'");
        Files.writeString(index, "{\"weight_map\": {\"a\": 3}}");
        assertThatThrownBy(() -> ModelWeights.open(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(index.toString(), "weight_map.a");
        Files.writeString(index, "{\"weight_map\": {\"a\": \"../outside.safetensors\"}}");
        assertThatThrownBy(() -> ModelWeights.open(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(index.toString(), "not a file inside");
    }

    @Test
    void corruptShardNamesTheShard() throws IOException {
        writeSharded();
        Path shard = dir.resolve("model-00001-of-00002.safetensors");
        Files.write(shard, new byte[]{1, 2, 3});
        assertThatThrownBy(() -> ModelWeights.open(dir)).isInstanceOf(ModelFormatException.class)
                .hasMessageContainingAll(shard.toString(), "truncated");
    }

    @Test
    void singleFileWinsOverAnIndex() throws IOException {
        writeSharded();
        new SafeTensorsWriter().add("only", DType.F32, new long[]{1}, new float[]{1})
                .write(dir.resolve("model.safetensors"));
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThat(w.names()).containsExactly("only");
        }
    }
}
