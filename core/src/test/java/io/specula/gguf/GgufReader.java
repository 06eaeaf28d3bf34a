package io.specula.gguf;

import io.specula.kernel.HalfFloats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads a GGUF v3 file back (tests only): metadata as Java values, tensors as float32 in ggml order. */
public final class GgufReader {

    public record TensorEntry(String name, long[] ne, int type, long offset) {
    }

    public final Map<String, Object> metadata = new LinkedHashMap<>();
    public final Map<String, Integer> valueTypes = new LinkedHashMap<>();
    public final Map<String, TensorEntry> tensors = new LinkedHashMap<>();
    public final long dataStart;
    private final ByteBuffer buf;

    public GgufReader(Path file) throws IOException {
        buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        if (buf.getInt() != GgufWriter.MAGIC) {
            throw new IOException("not GGUF");
        }
        int version = buf.getInt();
        if (version != 3) {
            throw new IOException("version " + version);
        }
        long nTensors = buf.getLong();
        long nKv = buf.getLong();
        for (long i = 0; i < nKv; i++) {
            String key = string();
            int type = buf.getInt();
            valueTypes.put(key, type);
            metadata.put(key, value(type));
        }
        for (long i = 0; i < nTensors; i++) {
            String name = string();
            int nd = buf.getInt();
            long[] ne = new long[nd];
            for (int d = 0; d < nd; d++) {
                ne[d] = buf.getLong();
            }
            tensors.put(name, new TensorEntry(name, ne, buf.getInt(), buf.getLong()));
        }
        int alignment = metadata.containsKey("general.alignment")
                ? ((Number) metadata.get("general.alignment")).intValue() : 32;
        dataStart = (buf.position() + alignment - 1) / alignment * alignment;
    }

    public int size() {
        return buf.capacity();
    }

    public float[] floats(String name) {
        TensorEntry t = tensors.get(name);
        long n = 1;
        for (long d : t.ne()) {
            n *= d;
        }
        float[] out = new float[(int) n];
        int at = (int) (dataStart + t.offset());
        for (int i = 0; i < n; i++) {
            out[i] = t.type() == 0 ? buf.getFloat(at + 4 * i) : HalfFloats.f16ToFloat(buf.getShort(at + 2 * i));
        }
        return out;
    }

    private String string() {
        int n = (int) buf.getLong();
        byte[] b = new byte[n];
        buf.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    private Object value(int type) {
        return switch (type) {
            case 0, 1 -> (long) buf.get();
            case 2, 3 -> (long) buf.getShort();
            case 4 -> Integer.toUnsignedLong(buf.getInt());
            case 5 -> (long) buf.getInt();
            case 6 -> buf.getFloat();
            case 7 -> buf.get() != 0;
            case 8 -> string();
            case 9 -> {
                int et = buf.getInt();
                long n = buf.getLong();
                List<Object> list = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    list.add(value(et));
                }
                yield list;
            }
            case 10, 11 -> buf.getLong();
            case 12 -> buf.getDouble();
            default -> throw new IllegalStateException("type " + type);
        };
    }
}
