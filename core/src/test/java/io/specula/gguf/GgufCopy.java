package io.specula.gguf;

import io.specula.gguf.GgufWriter.Value;
import io.specula.gguf.GgufWriter.ValueType;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A GGUF file read back into a {@link GgufWriter}: every metadata value and every tensor's bytes as they are. */
final class GgufCopy {

    private GgufCopy() {
    }

    static GgufWriter of(Path file) {
        try (GgufFile f = GgufFile.open(file)) {
            GgufWriter w = new GgufWriter();
            for (String key : f.keys()) {
                ValueType type = f.type(key);
                Object v = f.value(key);
                w.put(key, type == ValueType.ARRAY ? new Value(type, f.elementType(key), list(v))
                        : new Value(type, null, v));
            }
            for (GgufFile.Tensor t : f.tensors().values()) {
                ByteBuffer b = ByteBuffer.allocate((int) t.byteSize()).order(ByteOrder.LITTLE_ENDIAN);
                f.read(t, 0, b);
                w.addRawTensor(t.name(), t.ne(), t.type().id, b.array());
            }
            return w;
        }
    }

    /** A metadata array as a list (integers as Long). */
    static List<Object> list(Object v) {
        List<Object> out = new ArrayList<>();
        if (v instanceof long[] a) {
            for (long x : a) {
                out.add(x);
            }
        } else if (v instanceof float[] a) {
            for (float x : a) {
                out.add(x);
            }
        } else if (v instanceof double[] a) {
            for (double x : a) {
                out.add(x);
            }
        } else if (v instanceof boolean[] a) {
            for (boolean x : a) {
                out.add(x);
            }
        } else {
            out.addAll(List.of((String[]) v));
        }
        return out;
    }
}
