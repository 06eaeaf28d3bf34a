package io.specula.training;

import io.specula.model.ModelFormatException;
import io.specula.model.TensorSource;
import io.specula.model.safetensors.SafeTensorsFile;
import io.specula.model.safetensors.SafeTensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Whole safetensors files as maps of float32 tensors, over the engine's {@link SafeTensorsWriter} and
 * {@link SafeTensorsFile}: what the trainer needs for exports and checkpoints (no BF16 tensor is ever made in DJL;
 * the conversions happen in Java).
 */
public final class SafeTensorsFiles {

    /** A tensor held as float32 values in row-major order. */
    public record Tensor(long[] shape, float[] data) {
        public Tensor {
            long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            if (n != data.length) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " values, not " + data.length);
            }
        }
    }

    public enum DType {
        F32(4), F16(2);

        final int bytes;

        DType(int bytes) {
            this.bytes = bytes;
        }

        /** "float32" or "float16", as config.json's torch_dtype says it. */
        public String torchName() {
            return this == F32 ? "float32" : "float16";
        }

        public static DType parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "f32", "float32", "fp32" -> F32;
                case "f16", "float16", "fp16", "half" -> F16;
                default -> throw new IllegalArgumentException("dtype '" + s + "': expected float32 or float16");
            };
        }
    }

    private SafeTensorsFiles() {
    }

    /** Writes the tensors to {@code file} (through a temporary file, so a crash leaves no half file). */
    public static void write(Path file, Map<String, Tensor> tensors, DType dtype, Map<String, String> metadata) {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        metadata.forEach(w::metadata);
        io.specula.model.safetensors.DType stored = dtype == DType.F32
                ? io.specula.model.safetensors.DType.F32 : io.specula.model.safetensors.DType.F16;
        tensors.forEach((name, t) -> w.add(name, stored, t.shape(), t.data()));
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + file.getParent(), e);
        }
        w.write(file);
    }

    /** Reads every tensor of a safetensors file as float32 (converted from F16 or BF16 if stored so). */
    public static Map<String, Tensor> read(Path file) {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String name : f.names()) {
                out.put(name, new Tensor(f.info(name).shape(), f.floats(name)));
            }
            return out;
        }
    }

    /** The tensors as a {@link TensorSource}, so {@code LlamaWeights.load} can read them. */
    public static TensorSource source(Path file, Map<String, Tensor> tensors) {
        return new TensorSource() {
            @Override
            public boolean contains(String name) {
                return tensors.containsKey(name);
            }

            @Override
            public float[] floats(String name, long... shape) {
                Tensor t = tensors.get(name);
                if (t == null) {
                    throw new ModelFormatException(file, "tensor '" + name + "' is missing");
                }
                if (!Arrays.equals(t.shape(), shape)) {
                    throw new ModelFormatException(file, "tensor '" + name + "' has shape " + Arrays.toString(t.shape())
                            + ", expected " + Arrays.toString(shape));
                }
                return t.data();
            }
        };
    }
}
