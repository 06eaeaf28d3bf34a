package io.specula.gguf;

import io.specula.kernel.HalfFloats;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The tests' view of a GGUF file, a thin use of the production reader {@link GgufFile}: metadata with arrays as lists
 * (integers as {@code Long}), tensor entries with their numeric ggml type, and float tensors read back as float32.
 */
public final class GgufReader {

    public record TensorEntry(String name, long[] ne, int type, long offset) {
    }

    public final Map<String, Object> metadata = new LinkedHashMap<>();
    public final Map<String, TensorEntry> tensors = new LinkedHashMap<>();
    public final long dataStart;
    private final long size;
    private final Path file;

    public GgufReader(Path file) {
        this.file = file;
        try (GgufFile f = GgufFile.open(file)) {
            for (String key : f.keys()) {
                metadata.put(key, asList(f.value(key)));
            }
            for (GgufFile.Tensor t : f.tensors().values()) {
                tensors.put(t.name(), new TensorEntry(t.name(), t.ne(), t.type().id, t.offset()));
            }
            dataStart = f.dataStart();
            size = f.size();
        }
    }

    public long size() {
        return size;
    }

    /** An F32, F16 or BF16 tensor as float32 values, in file order. */
    public float[] floats(String name) {
        try (GgufFile f = GgufFile.open(file)) {
            GgufFile.Tensor t = f.tensor(name);
            ByteBuffer b = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
            f.read(t, 0, b);
            float[] out = new float[(int) t.elements()];
            for (int i = 0; i < out.length; i++) {
                out[i] = switch (t.type()) {
                    case F32 -> b.getFloat(4 * i);
                    case F16 -> HalfFloats.f16ToFloat(b.getShort(2 * i));
                    case BF16 -> HalfFloats.bf16ToFloat(b.getShort(2 * i));
                    default -> throw new IllegalArgumentException(t + " is not a float tensor");
                };
            }
            return out;
        }
    }

    private static Object asList(Object v) {
        return v != null && v.getClass().isArray() ? GgufCopy.list(v) : v;
    }
}
