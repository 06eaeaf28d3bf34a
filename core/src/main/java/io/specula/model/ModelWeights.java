package io.specula.model;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.kernel.Bf16Matrix;
import io.specula.kernel.F16Matrix;
import io.specula.kernel.F32Matrix;
import io.specula.kernel.WeightMatrix;
import io.specula.model.safetensors.DType;
import io.specula.model.safetensors.SafeTensorsFile;
import io.specula.model.safetensors.TensorInfo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The weights of a Hugging Face model directory: {@code model.safetensors}, or the shards listed by
 * {@code model.safetensors.index.json} (preferring the single file when both exist, as transformers does). Every
 * shard is opened and its header validated up front, so a missing shard or tensor is reported when the model is
 * opened, not halfway through loading it.
 */
public final class ModelWeights implements TensorSource, AutoCloseable {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path dir;
    private final Map<String, SafeTensorsFile> byTensor;   // sorted by name
    private final List<SafeTensorsFile> files;

    private ModelWeights(Path dir, Map<String, SafeTensorsFile> byTensor, List<SafeTensorsFile> files) {
        this.dir = dir;
        this.byTensor = Collections.unmodifiableMap(byTensor);
        this.files = List.copyOf(files);
    }

    /** Opens the weights of the model in {@code dir}. */
    public static ModelWeights open(Path dir) {
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            SafeTensorsFile f = SafeTensorsFile.open(single);
            Map<String, SafeTensorsFile> byTensor = new TreeMap<>();
            for (String name : f.names()) {
                byTensor.put(name, f);
            }
            return new ModelWeights(dir, byTensor, List.of(f));
        }
        Path index = dir.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return openSharded(dir, index);
        }
        String hint = Files.exists(dir.resolve("pytorch_model.bin")) || Files.exists(dir.resolve("model.bin"))
                ? "; PyTorch .bin checkpoints are not supported, convert them to safetensors" : "";
        throw new ModelFormatException(dir, "no weights found: expected " + SINGLE_FILE + ", or " + INDEX_FILE
                + " with the shards it lists" + hint);
    }

    private static ModelWeights openSharded(Path dir, Path index) {
        Map<String, String> weightMap = readWeightMap(index);
        Map<String, SafeTensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafeTensorsFile> byTensor = new TreeMap<>();
        try {
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                String shardName = e.getValue();
                SafeTensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    shard = openShard(dir, index, e.getKey(), shardName);
                    shards.put(shardName, shard);
                }
                if (!shard.contains(e.getKey())) {
                    throw new ModelFormatException(index, "weight_map lists tensor '" + e.getKey() + "' in "
                            + shardName + ", which does not contain it");
                }
                byTensor.put(e.getKey(), shard);
            }
        } catch (RuntimeException e) {
            shards.values().forEach(SafeTensorsFile::close);
            throw e;
        }
        return new ModelWeights(dir, byTensor, new ArrayList<>(shards.values()));
    }

    private static SafeTensorsFile openShard(Path dir, Path index, String tensor, String shardName) {
        Path shard = dir.resolve(shardName).normalize();
        // The index is data, not a path to trust: a shard outside the model directory is an error, not a lookup.
        if (!shard.startsWith(dir.normalize()) || shard.equals(dir.normalize())) {
            throw new ModelFormatException(index, "weight_map entry '" + tensor + "': shard '" + shardName
                    + "' is not a file inside " + dir);
        }
        if (!Files.isRegularFile(shard)) {
            throw new ModelFormatException(index, "weight_map entry '" + tensor + "': shard file " + shardName
                    + " does not exist in " + dir);
        }
        return SafeTensorsFile.open(shard);
    }

    private static Map<String, String> readWeightMap(Path index) {
        JsonObject json;
        try {
            JsonElement parsed = JsonParser.parseString(Files.readString(index, StandardCharsets.UTF_8));
            if (!parsed.isJsonObject()) {
                throw new ModelFormatException(index, "expected a JSON object with a 'weight_map'");
            }
            json = parsed.getAsJsonObject();
        } catch (IOException e) {
            throw new ModelFormatException(index, "cannot be read: " + e.getMessage(), e);
        } catch (ModelFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelFormatException(index, "is not valid JSON: " + e.getMessage(), e);
        }
        JsonElement map = json.get("weight_map");
        if (map == null || !map.isJsonObject()) {
            throw new ModelFormatException(index, "field 'weight_map': expected an object of tensor name to shard "
                    + "file, got " + (map == null ? "nothing" : map));
        }
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : map.getAsJsonObject().entrySet()) {
            JsonElement v = e.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString() || v.getAsString().isEmpty()) {
                throw new ModelFormatException(index, "field 'weight_map." + e.getKey()
                        + "': expected a shard file name, got " + v);
            }
            out.put(e.getKey(), v.getAsString());
        }
        return out;
    }

    /** The model directory. */
    public Path directory() {
        return dir;
    }

    /** Every tensor name, sorted. */
    public Set<String> names() {
        return byTensor.keySet();
    }

    @Override
    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    public TensorInfo info(String name) {
        return file(name).info(name);
    }

    /** The file that holds {@code name}. */
    public Path fileOf(String name) {
        return file(name).path();
    }

    /** The tensor as float32, whatever its shape. */
    public float[] floats(String name) {
        return file(name).floats(name);
    }

    /**
     * The tensor as float32, after checking that its shape is {@code expectedShape} (what config.json implies).
     * The shape is checked before any data is read.
     */
    @Override
    public float[] floats(String name, long... expectedShape) {
        SafeTensorsFile f = file(name);
        TensorInfo t = f.info(name);
        if (!t.hasShape(expectedShape)) {
            throw new ModelFormatException(f.path(), "tensor '" + name + "': expected shape "
                    + Arrays.toString(expectedShape) + " (from config.json), got " + Arrays.toString(t.shape()));
        }
        return f.floats(name);
    }

    /**
     * Reads the parts straight into one array in their stored precision: F16 and BF16 values are copied as they are
     * (see {@link SafeTensorsFile#readShorts}), never widened; parts of different types are widened to float32.
     */
    @Override
    public WeightMatrix matrix(int cols, Part... parts) {
        int rows = 0;
        DType common = null;
        for (Part p : parts) {
            TensorInfo t = checkedInfo(p.name(), p.rows(), cols);
            // a type that is not a float fails in the read below, with the file's own message
            common = common == null || common == t.dtype() ? t.dtype() : DType.F32;
            rows += p.rows();
        }
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(fileOf(parts[0].name()), "tensors " + names(parts) + ": " + rows + " x "
                    + cols + " weights, more than one Java array can hold");
        }
        int at = 0;
        if (common == DType.F16 || common == DType.BF16) {
            short[] bits = new short[(int) n];
            for (Part p : parts) {
                file(p.name()).readShorts(p.name(), bits, at);
                at += p.rows() * cols;
            }
            return common == DType.BF16 ? new Bf16Matrix(bits, rows, cols) : F16Matrix.of(bits, rows, cols);
        }
        float[] data = new float[(int) n];
        for (Part p : parts) {
            file(p.name()).readFloatRows(p.name(), 0, p.rows() * cols, data, at);
            at += p.rows() * cols;
        }
        return new F32Matrix(data, rows, cols);
    }

    @Override
    public void floatRows(String name, int rows, int cols, int from, int to, float[] dst, int at) {
        checkedInfo(name, rows, cols);
        file(name).readFloatRows(name, (long) from * cols, (to - from) * cols, dst, at);
    }

    private TensorInfo checkedInfo(String name, long... expectedShape) {
        SafeTensorsFile f = file(name);
        TensorInfo t = f.info(name);
        if (!t.hasShape(expectedShape)) {
            throw new ModelFormatException(f.path(), "tensor '" + name + "': expected shape "
                    + Arrays.toString(expectedShape) + " (from config.json), got " + Arrays.toString(t.shape()));
        }
        return t;
    }

    private static String names(Part... parts) {
        StringBuilder b = new StringBuilder();
        for (Part p : parts) {
            b.append(b.length() == 0 ? "" : ", ").append(p.name());
        }
        return b.toString();
    }

    private SafeTensorsFile file(String name) {
        SafeTensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new ModelFormatException(dir, "tensor '" + name + "' not found in the model's weights ("
                    + describeFiles() + ")");
        }
        return f;
    }

    private String describeFiles() {
        if (files.size() == 1) {
            return files.get(0).path().getFileName().toString();
        }
        return INDEX_FILE + " and " + files.size() + " shards";
    }

    @Override
    public void close() {
        files.forEach(SafeTensorsFile::close);
    }
}
