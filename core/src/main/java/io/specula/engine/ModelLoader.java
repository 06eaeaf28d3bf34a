package io.specula.engine;

import java.nio.file.Path;

/** Loads a Hugging Face model directory onto a device with a compute path chosen once, at load time. */
public final class ModelLoader {

    private ModelLoader() {
    }

    /**
     * @param device "cpu", "cuda", "cuda:N" or "auto"
     * @param dtype  "auto", "float32" or "float16"
     * @param kernel "auto", "vector", "scalar" or "djl"
     */
    public static LoadedModel load(Path dir, String device, String dtype, String kernel) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
