package io.specula.model;

/** Where a model's weights come from: safetensors files on disk, or arrays built by a test or a trainer. */
public interface TensorSource {

    boolean contains(String name);

    /**
     * The tensor as float32 values (converted from F16/BF16 if stored so), checked against {@code shape}.
     *
     * @throws ModelFormatException naming the file and tensor when it is missing or its shape differs
     */
    float[] floats(String name, long... shape);
}
