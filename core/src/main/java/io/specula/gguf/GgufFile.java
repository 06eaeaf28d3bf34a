package io.specula.gguf;

import io.specula.gguf.GgufWriter.ValueType;
import io.specula.model.ModelFormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A GGUF file (versions 2 and 3, little-endian: what llama.cpp, Ollama and gguf-py write), opened and checked as a whole
 * before any weight is read:
 *
 * <pre>
 *   "GGUF" u32 version, u64 tensor_count, u64 kv_count
 *   kv_count x (string key, u32 value_type, value)            strings: u64 length + UTF-8; arrays: u32 type, u64 n
 *   tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml_type, u64 offset)
 *   padding to general.alignment (32 by default), then the tensor data at those offsets
 * </pre>
 *
 * {@link #open} reads the header through a small buffer (never the whole file), with every count and length checked
 * against the bytes that are left, so a corrupt or truncated file is a {@link ModelFormatException} naming the file and
 * the key or tensor, never an allocation of a size it made up, an index error or a native crash. Every tensor's type,
 * shape, alignment and data range are validated at open: a tensor's bytes can then be read with plain positioned reads
 * ({@link #read}), which is what {@link GgufWeights} does, a few rows at a time.
 *
 * <p>Metadata values are Java values: integers of every width as {@link Long}, {@code float32} as {@link Float},
 * {@code float64} as {@link Double}, {@link Boolean}, {@link String}, and arrays as {@code long[]}, {@code float[]},
 * {@code double[]}, {@code boolean[]} or {@code String[]}.
 *
 * <p>Thread-safe for reads once open.
 *
 * <p>Why one class of ~680 lines: the file format and every check on it in one place, read in the order of the bytes
 * (header, metadata, tensor infos, data); each check is a few lines and they share the reading position.
 */
public final class GgufFile implements AutoCloseable {

    public static final int MAGIC = GgufWriter.MAGIC;
    /** gguf.cpp's limit on dimensions (GGML_MAX_DIMS). */
    static final int MAX_DIMS = 4;
    /** Far beyond any real model's tensor or key count; a larger count is a corrupt field, not a model. */
    static final long MAX_ENTRIES = 1L << 24;
    /** Far beyond any real vocabulary or merge list. */
    static final long MAX_ARRAY = 1L << 26;
    private static final int HEADER_BUFFER = 1 << 16;

    /** One tensor's header entry; {@code ne} in ggml order (fastest-varying first), offset from the data start. */
    public record Tensor(String name, long[] ne, GgmlType type, long offset, long byteSize) {

        /** Weights per row: {@code ne[0]}. */
        public long cols() {
            return ne[0];
        }

        /** Rows: the product of the other dimensions. */
        public long rows() {
            long r = 1;
            for (int i = 1; i < ne.length; i++) {
                r *= ne[i];
            }
            return r;
        }

        public long elements() {
            return cols() * rows();
        }

        /** The shape as Hugging Face and Java write it, slowest dimension first. */
        public long[] shape() {
            long[] s = new long[ne.length];
            for (int i = 0; i < ne.length; i++) {
                s[i] = ne[ne.length - 1 - i];
            }
            return s;
        }

        @Override
        public String toString() {
            return name + " " + type + " " + Arrays.toString(shape());
        }
    }

    private final Path file;
    private final FileChannel channel;
    private final long fileSize;
    private final int version;
    private final int alignment;
    private final long dataStart;
    private final Map<String, Object> metadata;
    private final Map<String, ValueType> types;
    private final Map<String, ValueType> elementTypes;
    private final Map<String, Tensor> tensors;

    private GgufFile(Path file, FileChannel channel, long fileSize, int version, int alignment, long dataStart,
                     Map<String, Object> metadata, Map<String, ValueType> types,
                     Map<String, ValueType> elementTypes, Map<String, Tensor> tensors) {
        this.file = file;
        this.channel = channel;
        this.fileSize = fileSize;
        this.version = version;
        this.alignment = alignment;
        this.dataStart = dataStart;
        this.metadata = Collections.unmodifiableMap(metadata);
        this.types = Collections.unmodifiableMap(types);
        this.elementTypes = Collections.unmodifiableMap(elementTypes);
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Whether {@code file} starts with the GGUF magic (false for a directory, a short or unreadable file). */
    public static boolean isGguf(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining()) {
                if (ch.read(b) < 0) {
                    return false;
                }
            }
            return b.flip().getInt() == MAGIC;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Opens and validates {@code file}; no tensor data is read. */
    public static GgufFile open(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "file not found");
        } catch (IOException | SecurityException e) {
            throw new ModelFormatException(file, "cannot be opened: " + e.getMessage(), e);
        }
        try {
            return parse(file, channel);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    private static GgufFile parse(Path file, FileChannel channel) throws IOException {
        long size = channel.size();
        Cursor in = new Cursor(file, channel, size);
        if (size < 4) {
            throw new ModelFormatException(file, "truncated: " + size + " bytes; a GGUF file starts with \"GGUF\"");
        }
        int magic = in.u32("the magic");
        if (magic != MAGIC) {
            throw new ModelFormatException(file, "not a GGUF file: it starts with " + hex(magic)
                    + ", expected the magic \"GGUF\" (47 47 55 46)");
        }
        int version = in.u32("the version");
        if (version != 2 && version != 3) {
            String why = version == 1 ? " (GGUF v1 files, from before August 2023, are no longer read by llama.cpp "
                    + "either: convert the model again)"
                    : Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3
                    ? " (a big-endian GGUF file: only little-endian files are supported)" : "";
            throw new ModelFormatException(file, "unsupported GGUF version " + Integer.toUnsignedString(version)
                    + "; expected 2 or 3" + why);
        }
        long tensorCount = in.count("tensor_count", 8 + 4 + 4 + 8);
        long kvCount = in.count("kv_count", 8 + 4 + 1);

        Map<String, Object> metadata = new LinkedHashMap<>();
        Map<String, ValueType> types = new LinkedHashMap<>();
        Map<String, ValueType> elementTypes = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("the key of metadata entry " + i);
            ValueType type = in.valueType("metadata key '" + key + "'");
            Object value = in.value(type, "metadata key '" + key + "'");
            if (metadata.putIfAbsent(key, value) != null) {
                throw new ModelFormatException(file, "metadata key '" + key + "' appears twice");
            }
            types.put(key, type);
            if (type == ValueType.ARRAY) {
                elementTypes.put(key, in.lastElementType);
            }
        }

        int alignment = GgufWriter.DEFAULT_ALIGNMENT;
        if (metadata.containsKey(GgufWriter.ALIGNMENT_KEY)) {
            Object a = metadata.get(GgufWriter.ALIGNMENT_KEY);
            long value = a instanceof Long l ? l : -1;
            if (types.get(GgufWriter.ALIGNMENT_KEY) != ValueType.UINT32 || value <= 0 || value > (1 << 30)
                    || (value & (value - 1)) != 0) {
                throw new ModelFormatException(file, "metadata key '" + GgufWriter.ALIGNMENT_KEY
                        + "': expected a u32 power of two, got " + describe(a, types.get(GgufWriter.ALIGNMENT_KEY)));
            }
            alignment = (int) value;
        }

        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("the name of tensor " + i);
            String where = "tensor '" + name + "'";
            long dims = Integer.toUnsignedLong(in.u32(where + ": n_dims"));
            if (dims < 1 || dims > MAX_DIMS) {
                throw new ModelFormatException(file, where + ": " + dims + " dimensions; expected 1 to " + MAX_DIMS);
            }
            long[] ne = new long[(int) dims];
            for (int d = 0; d < dims; d++) {
                ne[d] = in.u64(where + ": ne[" + d + "]");
                if (ne[d] < 0) {
                    throw new ModelFormatException(file, where + ": dimension " + d + " is "
                            + Long.toUnsignedString(ne[d]) + ", not a plausible size");
                }
            }
            long typeId = Integer.toUnsignedLong(in.u32(where + ": type"));
            GgmlType type = GgmlType.of(typeId);
            if (type == null) {
                throw new ModelFormatException(file, where + ": unknown ggml tensor type " + typeId
                        + " (a newer llama.cpp type, or a corrupt file)");
            }
            long offset = in.u64(where + ": offset");
            long byteSize = byteSize(file, where, ne, type);
            if (tensors.putIfAbsent(name, new Tensor(name, ne, type, offset, byteSize)) != null) {
                throw new ModelFormatException(file, "tensor '" + name + "' appears twice");
            }
        }
        long dataStart = align(in.position(), alignment);
        checkLayout(file, tensors, dataStart, size, alignment);
        return new GgufFile(file, channel, size, version, alignment, dataStart, metadata, types, elementTypes,
                tensors);
    }

    private static long byteSize(Path file, String where, long[] ne, GgmlType type) {
        if (ne[0] % type.blockSize != 0) {
            throw new ModelFormatException(file, where + ": " + ne[0] + " weights per row is not a multiple of the "
                    + type + " block size " + type.blockSize);
        }
        try {
            long size = Math.multiplyExact(ne[0] / type.blockSize, (long) type.typeSize);
            for (int d = 1; d < ne.length; d++) {
                size = Math.multiplyExact(size, ne[d]);
            }
            return size;
        } catch (ArithmeticException e) {
            throw new ModelFormatException(file, where + ": shape " + Arrays.toString(ne) + " of " + type
                    + " overflows a 64-bit size");
        }
    }

    /** Every tensor aligned, inside the file, and overlapping no other. */
    private static void checkLayout(Path file, Map<String, Tensor> tensors, long dataStart, long size, int alignment) {
        List<Tensor> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(Tensor::offset));
        Tensor previous = null;
        for (Tensor t : byOffset) {
            if (t.offset() < 0 || t.offset() % alignment != 0) {
                throw new ModelFormatException(file, "tensor '" + t.name() + "': data offset "
                        + Long.toUnsignedString(t.offset()) + " is not a multiple of the alignment " + alignment);
            }
            long begin = dataStart + t.offset();
            if (begin < 0 || begin > size || t.byteSize() > size - begin) {
                throw new ModelFormatException(file, "tensor '" + t.name() + "' (" + t.type() + ", "
                        + t.byteSize() + " bytes at data offset " + t.offset() + ") lies outside the file, which ends "
                        + (size - dataStart) + " bytes after the data start: the file is truncated or corrupt");
            }
            if (previous != null && previous.offset() + previous.byteSize() > t.offset()) {
                throw new ModelFormatException(file, "tensors '" + previous.name() + "' and '" + t.name()
                        + "' overlap in the file");
            }
            previous = t;
        }
    }

    // ---------------------------------------------------------------- header

    public Path path() {
        return file;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    /** Where the tensor data starts (the offsets are relative to it). */
    public long dataStart() {
        return dataStart;
    }

    public long size() {
        return fileSize;
    }

    /** Every metadata key, in file order. */
    public Set<String> keys() {
        return metadata.keySet();
    }

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    /** The value of {@code key} as described in the class comment, or {@code null}. */
    public Object value(String key) {
        return metadata.get(key);
    }

    /** The stored type of {@code key}, or {@code null}. */
    public ValueType type(String key) {
        return types.get(key);
    }

    /** The element type of an array {@code key}, or {@code null}. */
    public ValueType elementType(String key) {
        return elementTypes.get(key);
    }

    /** A string value, or {@code null} when the key is absent. */
    public String string(String key) {
        return typed(key, String.class, "a string");
    }

    /** An integer value of any width, or {@code null} when the key is absent. */
    public Long integer(String key) {
        return typed(key, Long.class, "an integer");
    }

    /** A float32 or float64 value (or an integer, as a number), or {@code null} when the key is absent. */
    public Double number(String key) {
        Object v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof Float f) {
            return (double) f;
        }
        if (v instanceof Double d) {
            return d;
        }
        if (v instanceof Long l) {
            return (double) l;
        }
        throw wrongType(key, "a number");
    }

    public Boolean bool(String key) {
        return typed(key, Boolean.class, "true or false");
    }

    /** An array of strings, or {@code null} when the key is absent. */
    public String[] strings(String key) {
        return typed(key, String[].class, "an array of strings");
    }

    /** An array of integers of any width, or {@code null} when the key is absent. */
    public long[] integers(String key) {
        return typed(key, long[].class, "an array of integers");
    }

    /** An array of float32 (or of integers, as llama.cpp accepts for scores), or {@code null} when absent. */
    public float[] floats(String key) {
        Object v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (v instanceof float[] f) {
            return f;
        }
        if (v instanceof long[] l) {
            float[] f = new float[l.length];
            for (int i = 0; i < l.length; i++) {
                f[i] = l[i];
            }
            return f;
        }
        throw wrongType(key, "an array of float32");
    }

    private <T> T typed(String key, Class<T> type, String expected) {
        Object v = metadata.get(key);
        if (v == null) {
            return null;
        }
        if (!type.isInstance(v)) {
            throw wrongType(key, expected);
        }
        return type.cast(v);
    }

    /** A {@link ModelFormatException} for a key of the wrong type, naming both. */
    public ModelFormatException wrongType(String key, String expected) {
        return new ModelFormatException(file, "metadata key '" + key + "': expected " + expected + ", found "
                + describe(metadata.get(key), types.get(key)));
    }

    /** A {@link ModelFormatException} about this file. */
    public ModelFormatException error(String message) {
        return new ModelFormatException(file, message);
    }

    // ---------------------------------------------------------------- tensors

    /** Every tensor, in file order. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The tensor named {@code name}, or {@code null}. */
    public Tensor tensor(String name) {
        return tensors.get(name);
    }

    /**
     * Reads {@code dst.remaining()} bytes of the tensor's data from {@code from} (a byte offset inside the tensor) into
     * {@code dst}, then flips it for reading.
     */
    public void read(Tensor t, long from, ByteBuffer dst) {
        int length = dst.remaining();
        if (from < 0 || length > t.byteSize() - from) {
            throw new IndexOutOfBoundsException("bytes " + from + ".." + (from + length) + " of " + t);
        }
        if (!channel.isOpen()) {
            throw new IllegalStateException(file + " is closed");
        }
        long position = dataStart + t.offset() + from;
        int start = dst.position();
        try {
            while (dst.hasRemaining()) {
                if (channel.read(dst, position + dst.position() - start) < 0) {
                    throw new ModelFormatException(file, "tensor '" + t.name() + "': the file ends at byte "
                            + (position + dst.position() - start) + ", inside the tensor's data (it shrank from "
                            + fileSize + " bytes since it was opened?)");
                }
            }
        } catch (IOException e) {
            throw new ModelFormatException(file, "tensor '" + t.name() + "' cannot be read: " + e.getMessage(), e);
        }
        dst.flip();
    }

    @Override
    public void close() {
        closeQuietly(channel);
    }

    @Override
    public String toString() {
        return "GgufFile[" + file + ", v" + version + ", " + metadata.size() + " keys, " + tensors.size() + " tensors]";
    }

    // ---------------------------------------------------------------- helpers

    static long align(long n, int alignment) {
        return (n + alignment - 1) / alignment * alignment;
    }

    private static String hex(int v) {
        return String.format("%02x %02x %02x %02x", v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24);
    }

    private static String describe(Object v, ValueType type) {
        if (v == null) {
            return "nothing";
        }
        String t = type == null ? "?" : type.name().toLowerCase(java.util.Locale.ROOT);
        if (v.getClass().isArray()) {
            int n = java.lang.reflect.Array.getLength(v);
            String element = v instanceof String[] ? "string" : v instanceof float[] ? "float32"
                    : v instanceof double[] ? "float64" : v instanceof boolean[] ? "bool" : "integer";
            return "an array of " + n + " " + element + (n == 1 ? "" : "s");
        }
        String text = String.valueOf(v);
        return t + " " + (text.length() > 60 ? text.substring(0, 60) + "..." : text);
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // already failing with a more useful error
        }
    }

    /** Little-endian reads over the channel through a small buffer; every read checked against the file's end. */
    private static final class Cursor {
        private final Path file;
        private final FileChannel channel;
        private final long size;
        private final ByteBuffer buf = ByteBuffer.allocate(HEADER_BUFFER).order(ByteOrder.LITTLE_ENDIAN);
        private long bufStart;   // file position of buf[0]
        ValueType lastElementType;   // of the array read last

        Cursor(Path file, FileChannel channel, long size) {
            this.file = file;
            this.channel = channel;
            this.size = size;
            buf.limit(0);
        }

        long position() {
            return bufStart + buf.position();
        }

        long remaining() {
            return size - position();
        }

        /** Makes {@code n} (at most the buffer's size) bytes available, or fails naming {@code what}. */
        private void need(int n, String what) throws IOException {
            if (remaining() < n) {
                throw new ModelFormatException(file, "truncated: the file ends at byte " + size + " while reading "
                        + what);
            }
            if (buf.remaining() >= n) {
                return;
            }
            long pos = position();
            buf.clear();
            bufStart = pos;
            int want = (int) Math.min(buf.capacity(), size - pos);
            buf.limit(want);
            while (buf.hasRemaining()) {
                if (channel.read(buf, pos + buf.position()) < 0) {
                    throw new ModelFormatException(file, "truncated: the file ends at byte " + (pos + buf.position())
                            + " while reading " + what);
                }
            }
            buf.flip();
        }

        int u32(String what) throws IOException {
            need(4, what);
            return buf.getInt();
        }

        long u64(String what) throws IOException {
            need(8, what);
            return buf.getLong();
        }

        /** A u64 count of entries, each at least {@code minBytes} long: at most what the rest of the file can hold. */
        long count(String what, int minBytes) throws IOException {
            long n = u64(what);
            if (n < 0 || n > MAX_ENTRIES || n > remaining() / minBytes) {
                throw new ModelFormatException(file, what + " is " + Long.toUnsignedString(n) + ", more than the "
                        + remaining() + " bytes left in the file can hold: truncated or corrupt");
            }
            return n;
        }

        String string(String what) throws IOException {
            long n = u64(what + " (its length)");
            if (n < 0 || n > remaining()) {
                throw new ModelFormatException(file, what + ": a string of " + Long.toUnsignedString(n)
                        + " bytes, but only " + remaining() + " bytes are left in the file: truncated or corrupt");
            }
            byte[] b = new byte[(int) Math.min(n, Integer.MAX_VALUE - 8)];
            if (b.length != n) {
                throw new ModelFormatException(file, what + ": a string of " + n + " bytes is not plausible");
            }
            int at = 0;
            while (at < b.length) {
                need(1, what);
                int k = Math.min(buf.remaining(), b.length - at);
                buf.get(b, at, k);
                at += k;
            }
            return new String(b, StandardCharsets.UTF_8);
        }

        ValueType valueType(String what) throws IOException {
            long id = Integer.toUnsignedLong(u32(what + ": value type"));
            for (ValueType t : ValueType.values()) {
                if (t.id == id) {
                    return t;
                }
            }
            throw new ModelFormatException(file, what + ": unknown value type " + id + " (expected 0 to 12)");
        }

        Object value(ValueType type, String what) throws IOException {
            return switch (type) {
                case UINT8 -> { need(1, what); yield (long) (buf.get() & 0xff); }
                case INT8 -> { need(1, what); yield (long) buf.get(); }
                case UINT16 -> { need(2, what); yield (long) (buf.getShort() & 0xffff); }
                case INT16 -> { need(2, what); yield (long) buf.getShort(); }
                case UINT32 -> Integer.toUnsignedLong(u32(what));
                case INT32 -> (long) u32(what);
                case UINT64, INT64 -> u64(what);
                case FLOAT32 -> { need(4, what); yield buf.getFloat(); }
                case FLOAT64 -> { need(8, what); yield buf.getDouble(); }
                case BOOL -> {
                    need(1, what);
                    int b = buf.get();
                    if (b != 0 && b != 1) {
                        throw new ModelFormatException(file, what + ": a bool must be 0 or 1, found " + b);
                    }
                    yield b == 1;
                }
                case STRING -> string(what);
                case ARRAY -> array(what);
            };
        }

        private Object array(String what) throws IOException {
            ValueType element = valueType(what + " (array element)");
            lastElementType = element;
            if (element == ValueType.ARRAY) {
                throw new ModelFormatException(file, what + ": arrays of arrays are not supported (llama.cpp does not "
                        + "read them either)");
            }
            int minBytes = switch (element) {
                case UINT8, INT8, BOOL -> 1;
                case UINT16, INT16 -> 2;
                case UINT32, INT32, FLOAT32 -> 4;
                default -> 8;
            };
            long n = u64(what + " (array length)");
            if (n < 0 || n > MAX_ARRAY || n > remaining() / minBytes) {
                throw new ModelFormatException(file, what + ": an array of " + Long.toUnsignedString(n) + " "
                        + element.name().toLowerCase(java.util.Locale.ROOT) + " values, more than the " + remaining()
                        + " bytes left in the file can hold: truncated or corrupt");
            }
            int count = (int) n;
            switch (element) {
                case STRING -> {
                    String[] out = new String[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = string(what + "[" + i + "]");
                    }
                    return out;
                }
                case FLOAT32 -> {
                    float[] out = new float[count];
                    for (int i = 0; i < count; i++) {
                        need(4, what);
                        out[i] = buf.getFloat();
                    }
                    return out;
                }
                case FLOAT64 -> {
                    double[] out = new double[count];
                    for (int i = 0; i < count; i++) {
                        need(8, what);
                        out[i] = buf.getDouble();
                    }
                    return out;
                }
                case BOOL -> {
                    boolean[] out = new boolean[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = (Boolean) value(ValueType.BOOL, what + "[" + i + "]");
                    }
                    return out;
                }
                default -> {
                    long[] out = new long[count];
                    for (int i = 0; i < count; i++) {
                        out[i] = (Long) value(element, what);
                    }
                    return out;
                }
            }
        }
    }
}
