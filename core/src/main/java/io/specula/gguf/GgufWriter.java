package io.specula.gguf;

import io.specula.SpeculaException;
import io.specula.kernel.HalfFloats;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes GGUF version 3 files (little-endian), the format llama.cpp loads, as gguf-py's {@code GGUFWriter} lays them
 * out:
 *
 * <pre>
 *   "GGUF" u32 version=3, u64 tensor_count, u64 kv_count
 *   kv_count x (string key, u32 value_type, value)
 *   tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
 *   padding to the alignment, then the tensor data, each tensor starting at a multiple of the alignment
 * </pre>
 *
 * Strings are a u64 byte length and UTF-8 bytes; arrays a u32 element type, a u64 count and the elements. Tensor
 * dimensions are in ggml order, fastest-varying first: a Hugging Face weight of shape {@code [out, in]} (row-major) is
 * {@code ne = [in, out]} with the same bytes. Metadata keys keep the order they were added in; adding a key again
 * replaces its value in place.
 */
public final class GgufWriter {

    public static final int MAGIC = 0x46554747;   // "GGUF" read as a little-endian u32
    public static final int VERSION = 3;
    public static final int DEFAULT_ALIGNMENT = 32;
    public static final String ALIGNMENT_KEY = "general.alignment";

    /** gguf_type: the value types of metadata. */
    public enum ValueType {
        UINT8(0), INT8(1), UINT16(2), INT16(3), UINT32(4), INT32(5), FLOAT32(6), BOOL(7), STRING(8), ARRAY(9),
        UINT64(10), INT64(11), FLOAT64(12);

        public final int id;

        ValueType(int id) {
            this.id = id;
        }

        public static ValueType of(int id) {
            for (ValueType t : values()) {
                if (t.id == id) {
                    return t;
                }
            }
            throw new IllegalArgumentException("GGUF value type " + id);
        }
    }

    /** The ggml tensor types this writer produces from float32 values (any type can be added as raw bytes). */
    public enum TensorType {
        F32(0, 4), F16(1, 2), BF16(30, 2);

        public final int id;
        public final int byteSize;

        TensorType(int id, int byteSize) {
            this.id = id;
            this.byteSize = byteSize;
        }
    }

    /** One metadata value: its type, and for arrays the element type; {@code value} is a boxed scalar or a List. */
    public record Value(ValueType type, ValueType elementType, Object value) {
    }

    /** A tensor from float32 values ({@code data}) or, with {@code raw}, bytes already in ggml type {@code typeId}. */
    private record Tensor(String name, long[] ne, TensorType type, float[] data, int typeId, byte[] raw) {
        long byteSize() {
            return raw != null ? raw.length : (long) data.length * type.byteSize;
        }
    }

    private final Map<String, Value> metadata = new LinkedHashMap<>();
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    // ---------------------------------------------------------------- metadata

    public GgufWriter put(String key, Value value) {
        metadata.put(key, value);
        return this;
    }

    public GgufWriter putString(String key, String value) {
        return put(key, new Value(ValueType.STRING, null, value));
    }

    public GgufWriter putUInt32(String key, long value) {
        if (value < 0 || value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(key + ": " + value + " does not fit in a u32");
        }
        return put(key, new Value(ValueType.UINT32, null, value));
    }

    public GgufWriter putFloat32(String key, float value) {
        return put(key, new Value(ValueType.FLOAT32, null, value));
    }

    public GgufWriter putBool(String key, boolean value) {
        return put(key, new Value(ValueType.BOOL, null, value));
    }

    public GgufWriter putStrings(String key, List<String> values) {
        return put(key, new Value(ValueType.ARRAY, ValueType.STRING, List.copyOf(values)));
    }

    public GgufWriter putFloat32s(String key, float[] values) {
        List<Object> list = new ArrayList<>(values.length);
        for (float v : values) {
            list.add(v);
        }
        return put(key, new Value(ValueType.ARRAY, ValueType.FLOAT32, Collections.unmodifiableList(list)));
    }

    public GgufWriter putInt32s(String key, int[] values) {
        List<Object> list = new ArrayList<>(values.length);
        for (int v : values) {
            list.add(v);
        }
        return put(key, new Value(ValueType.ARRAY, ValueType.INT32, Collections.unmodifiableList(list)));
    }

    public GgufWriter remove(String key) {
        metadata.remove(key);
        return this;
    }

    /** The metadata in the order it will be written. */
    public Map<String, Value> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    // ---------------------------------------------------------------- tensors

    /**
     * Adds a tensor given in Hugging Face (row-major, slowest dimension first) {@code shape}; it is stored with the
     * dimensions reversed, as ggml counts them. The array is kept by reference until written.
     */
    public GgufWriter addTensor(String name, long[] shape, TensorType type, float[] data) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("tensor " + name + ": shape " + Arrays.toString(shape) + " holds " + n
                    + " values, got " + data.length);
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " added twice");
        }
        long[] ne = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            ne[i] = shape[shape.length - 1 - i];
        }
        tensors.put(name, new Tensor(name, ne, type, data, type.id, null));
        return this;
    }

    /**
     * Adds a tensor whose data is already in ggml's layout for type {@code typeId} (e.g. copied from another GGUF file,
     * quantized); {@code ne} in ggml order. The bytes are kept by reference until written.
     */
    public GgufWriter addRawTensor(String name, long[] ne, int typeId, byte[] bytes) {
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor " + name + " added twice");
        }
        tensors.put(name, new Tensor(name, ne.clone(), null, null, typeId, bytes));
        return this;
    }

    public List<String> tensorNames() {
        return List.copyOf(tensors.keySet());
    }

    private int alignment() {
        Value v = metadata.get(ALIGNMENT_KEY);
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        int a = ((Number) v.value()).intValue();
        if (a <= 0 || (a & (a - 1)) != 0) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " must be a power of two, got " + a);
        }
        return a;
    }

    // ---------------------------------------------------------------- writing

    /** Writes the file (to a temporary name in the same directory, then moved into place). */
    public void write(Path file) {
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
                write(out);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
        } catch (IOException e) {
            throw new SpeculaException(file + ": cannot write GGUF file: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    /** Writes the whole file to {@code out}. */
    public void write(OutputStream raw) throws IOException {
        int alignment = alignment();
        Counting out = new Counting(raw);
        out.u32(MAGIC);
        out.u32(VERSION);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, Value> e : metadata.entrySet()) {
            out.string(e.getKey());
            Value v = e.getValue();
            out.u32(v.type().id);
            if (v.type() == ValueType.ARRAY) {
                List<?> list = (List<?>) v.value();
                out.u32(v.elementType().id);
                out.u64(list.size());
                for (Object x : list) {
                    out.scalar(v.elementType(), x);
                }
            } else {
                out.scalar(v.type(), v.value());
            }
        }
        long offset = 0;
        List<Long> offsets = new ArrayList<>();
        for (Tensor t : tensors.values()) {
            out.string(t.name());
            out.u32(t.ne().length);
            for (long d : t.ne()) {
                out.u64(d);
            }
            out.u32(t.typeId());
            out.u64(offset);
            offsets.add(offset);
            offset = pad(offset + t.byteSize(), alignment);
        }
        out.zeros(pad(out.count, alignment) - out.count);
        long dataStart = out.count;
        int i = 0;
        for (Tensor t : tensors.values()) {
            out.zeros(dataStart + offsets.get(i++) - out.count);
            out.tensorData(t);
        }
        out.zeros(pad(out.count - dataStart, alignment) - (out.count - dataStart));
        out.flush();
    }

    private static long pad(long n, int alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    /** Little-endian primitives over a stream, counting the bytes written. */
    private static final class Counting {
        private final OutputStream out;
        private final ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
        long count;

        Counting(OutputStream out) {
            this.out = out;
        }

        private void room(int n) throws IOException {
            if (buf.remaining() < n) {
                drain();
            }
        }

        private void drain() throws IOException {
            out.write(buf.array(), 0, buf.position());
            buf.clear();
        }

        void flush() throws IOException {
            drain();
            out.flush();
        }

        void u8(int v) throws IOException {
            room(1);
            buf.put((byte) v);
            count += 1;
        }

        void u16(int v) throws IOException {
            room(2);
            buf.putShort((short) v);
            count += 2;
        }

        void u32(long v) throws IOException {
            room(4);
            buf.putInt((int) v);
            count += 4;
        }

        void u64(long v) throws IOException {
            room(8);
            buf.putLong(v);
            count += 8;
        }

        void f32(float v) throws IOException {
            room(4);
            buf.putFloat(v);
            count += 4;
        }

        void f64(double v) throws IOException {
            room(8);
            buf.putDouble(v);
            count += 8;
        }

        void bytes(byte[] b) throws IOException {
            if (b.length > buf.remaining()) {
                drain();
                out.write(b);
            } else {
                buf.put(b);
            }
            count += b.length;
        }

        void string(String s) throws IOException {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            bytes(b);
        }

        void zeros(long n) throws IOException {
            for (long i = 0; i < n; i++) {
                u8(0);
            }
        }

        void scalar(ValueType type, Object x) throws IOException {
            switch (type) {
                case UINT8, INT8 -> u8(((Number) x).intValue());
                case UINT16, INT16 -> u16(((Number) x).intValue());
                case UINT32, INT32 -> u32(((Number) x).longValue());
                case UINT64, INT64 -> u64(((Number) x).longValue());
                case FLOAT32 -> f32(((Number) x).floatValue());
                case FLOAT64 -> f64(((Number) x).doubleValue());
                case BOOL -> u8((Boolean) x ? 1 : 0);
                case STRING -> string((String) x);
                case ARRAY -> throw new IllegalArgumentException("nested GGUF arrays are not supported");
            }
        }

        void tensorData(Tensor t) throws IOException {
            if (t.raw() != null) {
                bytes(t.raw());
                return;
            }
            float[] d = t.data();
            for (float v : d) {
                switch (t.type()) {
                    case F32 -> f32(v);
                    case F16 -> u16(HalfFloats.floatToF16(v));
                    case BF16 -> u16(HalfFloats.floatToBf16(v));
                }
            }
        }
    }
}
