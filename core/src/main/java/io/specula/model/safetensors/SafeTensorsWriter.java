package io.specula.model.safetensors;

import com.google.gson.stream.JsonWriter;
import io.specula.SpeculaException;
import io.specula.kernel.HalfFloats;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Writes float tensors as safetensors, laid out as the Python library lays them out so that the files are
 * byte-for-byte what {@code safetensors.torch.save_file} would write for the same tensors: compact JSON header with
 * {@code __metadata__} first, padded with spaces to a multiple of 8 bytes; tensors sorted by element size (largest
 * first), then by name, contiguous, so every tensor starts at a multiple of its element size.
 *
 * <p>{@link #writeSharded} splits a model across files as {@code save_pretrained(max_shard_size=...)} does and writes
 * {@code model.safetensors.index.json}. Files are written to a temporary name and moved into place, so a failed
 * export never leaves a half-written file under the final name.
 *
 * <p>The float arrays are kept by reference until written; do not change them in between.
 */
public final class SafeTensorsWriter {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private static final Pattern SHARD_NAME = Pattern.compile("model-\\d{5}-of-\\d{5}\\.safetensors");
    private static final int CHUNK_ELEMENTS = 1 << 18;

    private record Entry(String name, DType dtype, long[] shape, float[] data) {
        long byteSize() {
            return (long) data.length * dtype.byteSize();
        }
    }

    private final Map<String, Entry> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new TreeMap<>();

    /** Adds a {@code __metadata__} entry, e.g. {@code format = pt}, which transformers checks for. */
    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /**
     * Adds a tensor stored as {@code dtype} (F32, F16 or BF16; narrowing rounds to nearest even). The order of calls is
     * the order tensors are split into shards; within a file they are sorted as the format requires.
     */
    public SafeTensorsWriter add(String name, DType dtype, long[] shape, float[] data) {
        if (name == null || name.isEmpty() || name.equals(SafeTensorsHeader.METADATA_KEY)) {
            throw new IllegalArgumentException("tensor name '" + name + "' is not allowed");
        }
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("tensor '" + name + "' added twice");
        }
        if (!dtype.isFloatConvertible()) {
            throw new IllegalArgumentException("tensor '" + name + "': cannot write floats as " + dtype
                    + "; expected F32, F16 or BF16");
        }
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("tensor '" + name + "': negative dimension in "
                        + Arrays.toString(shape));
            }
            n = Math.multiplyExact(n, d);
        }
        if (n != data.length) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " has " + n
                    + " elements but " + data.length + " values were given");
        }
        tensors.put(name, new Entry(name, dtype, shape.clone(), data));
        return this;
    }

    /** Names in the order they were added. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** Bytes of tensor data (headers excluded): the {@code total_size} of an index. */
    public long dataBytes() {
        return tensors.values().stream().mapToLong(Entry::byteSize).sum();
    }

    /** Writes every tensor into one file. */
    public void write(Path file) {
        writeFile(file, new ArrayList<>(tensors.values()));
    }

    /**
     * Writes a model directory's weights as {@code save_pretrained} does: {@code model.safetensors} when everything
     * fits in {@code maxShardBytes}, else {@code model-00001-of-0000N.safetensors} ... plus
     * {@code model.safetensors.index.json}. Tensors are taken in the order they were added; a shard is closed when the
     * next tensor would overflow it, and a tensor larger than the limit gets a shard of its own. Weights files left from
     * an earlier export in {@code dir} are removed, as they would otherwise be loaded instead of (or mixed with) these.
     *
     * @return the files written, the index last
     */
    public List<Path> writeSharded(Path dir, long maxShardBytes) {
        if (maxShardBytes < 1) {
            throw new IllegalArgumentException("maxShardBytes must be positive, got " + maxShardBytes);
        }
        List<List<Entry>> shards = split(maxShardBytes);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new SpeculaException(dir + ": cannot create directory: " + e.getMessage(), e);
        }
        List<Path> written = new ArrayList<>();
        if (shards.size() <= 1) {
            Path file = dir.resolve(SINGLE_FILE);
            writeFile(file, shards.isEmpty() ? List.of() : shards.get(0));
            written.add(file);
        } else {
            Map<String, String> weightMap = new TreeMap<>();
            for (int i = 0; i < shards.size(); i++) {
                String name = String.format("model-%05d-of-%05d.safetensors", i + 1, shards.size());
                Path file = dir.resolve(name);
                writeFile(file, shards.get(i));
                written.add(file);
                for (Entry e : shards.get(i)) {
                    weightMap.put(e.name, name);
                }
            }
            Path index = dir.resolve(INDEX_FILE);
            writeAtomically(index, indexJson(weightMap).getBytes(StandardCharsets.UTF_8));
            written.add(index);
        }
        removeStaleWeights(dir, written);
        return written;
    }

    private List<List<Entry>> split(long maxShardBytes) {
        List<List<Entry>> shards = new ArrayList<>();
        List<Entry> current = new ArrayList<>();
        long size = 0;
        for (Entry e : tensors.values()) {
            if (!current.isEmpty() && size + e.byteSize() > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(e);
            size += e.byteSize();
        }
        if (!current.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    private String indexJson(Map<String, String> weightMap) {
        long parameters = tensors.values().stream().mapToLong(e -> e.data.length).sum();
        try {
            StringWriter out = new StringWriter();
            JsonWriter w = new JsonWriter(out);
            // Python's json.dumps(indent=2, sort_keys=True), which is how transformers writes the index.
            w.setIndent("  ");
            w.beginObject();
            w.name("metadata").beginObject();
            w.name("total_parameters").value(parameters);
            w.name("total_size").value(dataBytes());
            w.endObject();
            w.name("weight_map").beginObject();
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                w.name(e.getKey()).value(e.getValue());
            }
            w.endObject();
            w.endObject();
            w.flush();
            return out + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void removeStaleWeights(Path dir, List<Path> written) {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                String name = f.getFileName().toString();
                boolean weights = name.equals(SINGLE_FILE) || name.equals(INDEX_FILE)
                        || SHARD_NAME.matcher(name).matches();
                if (weights && !written.contains(f)) {
                    Files.delete(f);
                }
            }
        } catch (IOException e) {
            throw new SpeculaException(dir + ": cannot remove weights left from an earlier export: "
                    + e.getMessage(), e);
        }
    }

    private void writeFile(Path file, List<Entry> entries) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingInt((Entry e) -> -e.dtype.writeRank())
                .thenComparing(e -> e.name.getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned));
        byte[] header = header(sorted);
        Path tmp = temporary(file);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer prefix = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            prefix.putLong(header.length).put(header).flip();
            writeAll(ch, prefix);
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK_ELEMENTS * 4).order(ByteOrder.LITTLE_ENDIAN);
            for (Entry e : sorted) {
                for (int from = 0; from < e.data.length; from += CHUNK_ELEMENTS) {
                    int to = Math.min(e.data.length, from + CHUNK_ELEMENTS);
                    buf.clear();
                    encode(e.dtype, e.data, from, to, buf);
                    writeAll(ch, buf.flip());
                }
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new SpeculaException(file + ": cannot be written: " + e.getMessage(), e);
        }
        moveIntoPlace(tmp, file);
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes so the data section is 8-byte aligned. */
    private byte[] header(List<Entry> sorted) {
        StringWriter out = new StringWriter();
        try {
            JsonWriter w = new JsonWriter(out);
            w.beginObject();
            if (!metadata.isEmpty()) {
                w.name(SafeTensorsHeader.METADATA_KEY).beginObject();
                for (Map.Entry<String, String> m : metadata.entrySet()) {
                    w.name(m.getKey()).value(m.getValue());
                }
                w.endObject();
            }
            long offset = 0;
            for (Entry e : sorted) {
                w.name(e.name).beginObject();
                w.name("dtype").value(e.dtype.name());
                w.name("shape").beginArray();
                for (long d : e.shape) {
                    w.value(d);
                }
                w.endArray();
                w.name("data_offsets").beginArray().value(offset).value(offset + e.byteSize()).endArray();
                w.endObject();
                offset += e.byteSize();
            }
            w.endObject();
            w.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        byte[] json = out.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] header = Arrays.copyOf(json, padded);
        Arrays.fill(header, json.length, padded, (byte) ' ');
        return header;
    }

    private static void encode(DType dtype, float[] data, int from, int to, ByteBuffer out) {
        switch (dtype) {
            case F32 -> {
                for (int i = from; i < to; i++) {
                    out.putFloat(data[i]);
                }
            }
            case F16 -> {
                for (int i = from; i < to; i++) {
                    out.putShort(HalfFloats.floatToF16(data[i]));
                }
            }
            case BF16 -> {
                for (int i = from; i < to; i++) {
                    out.putShort(HalfFloats.floatToBf16(data[i]));
                }
            }
            default -> throw new IllegalStateException("not a float type: " + dtype);
        }
    }

    private static void writeAll(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void writeAtomically(Path file, byte[] content) {
        Path tmp = temporary(file);
        try {
            Files.write(tmp, content);
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new SpeculaException(file + ": cannot be written: " + e.getMessage(), e);
        }
        moveIntoPlace(tmp, file);
    }

    private static Path temporary(Path file) {
        return file.resolveSibling("." + file.getFileName() + ".tmp");
    }

    private static void moveIntoPlace(Path tmp, Path file) {
        try {
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            deleteQuietly(tmp);
            throw new SpeculaException(file + ": cannot be written: " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // The original error is the one worth reporting.
        }
    }
}
