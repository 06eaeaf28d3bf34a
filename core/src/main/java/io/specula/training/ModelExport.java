package io.specula.training;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Writes a trained model in the Hugging Face layout the engine loads: config.json, model.safetensors,
 * generation_config.json and the tokenizer files, plus training_info.json and training_log.csv.
 */
public final class ModelExport {

    private ModelExport() {
    }

    public static void write(Path dir, ModelShape shape, Map<String, SafeTensorsFiles.Tensor> weights,
                             SafeTensorsFiles.DType dtype, Path tokenizerDir, JsonObject info, Path lossLog) {
        try {
            Files.createDirectories(dir);
            var gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
            Files.writeString(dir.resolve("config.json"),
                    gson.toJson(shape.configJson(dtype.torchName(), TokenData.BOS, TokenData.EOS)) + "\n", StandardCharsets.UTF_8);
            JsonObject gen = new JsonObject();
            gen.addProperty("bos_token_id", TokenData.BOS);
            gen.addProperty("eos_token_id", TokenData.EOS);
            gen.addProperty("max_length", shape.maxPositions());
            Files.writeString(dir.resolve("generation_config.json"), gson.toJson(gen) + "\n", StandardCharsets.UTF_8);
            SafeTensorsFiles.write(dir.resolve("model.safetensors"), weights, dtype, Map.of());
            if (!tokenizerDir.toAbsolutePath().normalize().equals(dir.toAbsolutePath().normalize())) {
                TokenizerFiles.copy(tokenizerDir, dir);
            }
            if (info != null) {
                Files.writeString(dir.resolve("training_info.json"), gson.toJson(info) + "\n", StandardCharsets.UTF_8);
            }
            if (lossLog != null && Files.exists(lossLog)) {
                Files.copy(lossLog, dir.resolve("training_log.csv"), StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot export the model to " + dir, e);
        }
    }
}
