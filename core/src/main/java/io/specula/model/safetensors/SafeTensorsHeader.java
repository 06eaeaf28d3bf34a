package io.specula.model.safetensors;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import io.specula.model.ModelFormatException;

import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JSON header of a safetensors file, checked entry by entry before any tensor byte is touched: a file whose
 * header passes can be read without an index or buffer error. Offsets are relative to the data section, which
 * holds {@code dataSize} bytes.
 */
final class SafeTensorsHeader {

    static final String METADATA_KEY = "__metadata__";

    final Map<String, TensorInfo> tensors;
    final Map<String, String> metadata;

    private SafeTensorsHeader(Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    static SafeTensorsHeader parse(Path file, byte[] utf8, long dataSize) {
        JsonObject json = parseObject(file, utf8);
        Map<String, TensorInfo> tensors = new TreeMap<>();
        Map<String, String> metadata = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : json.entrySet()) {
            if (e.getKey().equals(METADATA_KEY)) {
                metadata.putAll(parseMetadata(file, e.getValue()));
            } else {
                tensors.put(e.getKey(), parseEntry(file, e.getKey(), e.getValue(), dataSize));
            }
        }
        checkNoOverlap(file, tensors);
        return new SafeTensorsHeader(tensors, metadata);
    }

    private static JsonObject parseObject(Path file, byte[] utf8) {
        String text;
        try {
            // Strict decoding: a header that is not UTF-8 is a corrupt file, not something to guess at.
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8)).toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(file, "safetensors header is not valid UTF-8 text");
        }
        JsonElement parsed;
        try {
            parsed = JsonParser.parseString(text);
        } catch (RuntimeException e) {
            // Gson reports syntax errors (and its nesting limit) as unchecked exceptions of several types.
            throw new ModelFormatException(file, "safetensors header is not valid JSON: " + e.getMessage());
        }
        if (!parsed.isJsonObject()) {
            throw new ModelFormatException(file, "safetensors header: expected a JSON object, got "
                    + abbreviate(parsed.toString()));
        }
        return parsed.getAsJsonObject();
    }

    private static Map<String, String> parseMetadata(Path file, JsonElement value) {
        if (!value.isJsonObject()) {
            throw new ModelFormatException(file, "safetensors header: '__metadata__' must be an object of strings, got "
                    + abbreviate(value.toString()));
        }
        Map<String, String> out = new TreeMap<>();
        for (Map.Entry<String, JsonElement> m : value.getAsJsonObject().entrySet()) {
            JsonElement v = m.getValue();
            if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
                throw new ModelFormatException(file, "safetensors header: '__metadata__." + m.getKey()
                        + "' must be a string, got " + abbreviate(v.toString()));
            }
            out.put(m.getKey(), v.getAsString());
        }
        return out;
    }

    private static TensorInfo parseEntry(Path file, String name, JsonElement value, long dataSize) {
        if (!value.isJsonObject()) {
            throw tensorError(file, name, "expected an object with dtype, shape and data_offsets, got "
                    + abbreviate(value.toString()));
        }
        JsonObject o = value.getAsJsonObject();
        JsonElement dtypeJson = o.get("dtype");
        if (dtypeJson == null || !dtypeJson.isJsonPrimitive() || !dtypeJson.getAsJsonPrimitive().isString()) {
            throw tensorError(file, name, "'dtype' must be a string such as \"F32\", got " + dtypeJson);
        }
        DType dtype = DType.fromName(dtypeJson.getAsString());
        if (dtype == null) {
            throw tensorError(file, name, "unsupported dtype '" + abbreviate(dtypeJson.getAsString())
                    + "'; expected F32, F16 or BF16");
        }
        long[] shape = longArray(file, name, "shape", o.get("shape"), -1);
        long[] offsets = longArray(file, name, "data_offsets", o.get("data_offsets"), 2);
        long begin = offsets[0];
        long end = offsets[1];
        if (begin > end || end > dataSize) {
            throw tensorError(file, name, "data_offsets [" + begin + ", " + end + "] must satisfy begin <= end <= "
                    + dataSize + ", the size of the data section (is the file truncated?)");
        }
        long elements = 1;
        for (long d : shape) {
            try {
                elements = Math.multiplyExact(elements, d);
            } catch (ArithmeticException e) {
                throw tensorError(file, name, "shape " + java.util.Arrays.toString(shape) + " is too large");
            }
        }
        if (elements > Long.MAX_VALUE / dtype.byteSize() || end - begin != elements * dtype.byteSize()) {
            throw tensorError(file, name, "data_offsets [" + begin + ", " + end + "] hold " + (end - begin)
                    + " bytes, but " + dtype + " " + java.util.Arrays.toString(shape) + " needs " + elements + " x "
                    + dtype.byteSize() + " bytes");
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    /** A JSON array of non-negative integers; exactly {@code length} of them unless length is -1. */
    private static long[] longArray(Path file, String tensor, String field, JsonElement json, int length) {
        String expected = length < 0 ? "a list of non-negative integers" : "a list of " + length
                + " non-negative integers";
        if (json == null || !json.isJsonArray()) {
            throw tensorError(file, tensor, "'" + field + "' must be " + expected + ", got " + json);
        }
        JsonArray a = json.getAsJsonArray();
        if (length >= 0 && a.size() != length) {
            throw tensorError(file, tensor, "'" + field + "' must be " + expected + ", got " + abbreviate(a.toString()));
        }
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            JsonElement x = a.get(i);
            Long v = null;
            if (x.isJsonPrimitive() && x.getAsJsonPrimitive().isNumber()) {
                v = nonNegativeLong(x.getAsJsonPrimitive());
            }
            if (v == null) {
                throw tensorError(file, tensor, "'" + field + "' must be " + expected + ", got "
                        + abbreviate(a.toString()));
            }
            out[i] = v;
        }
        return out;
    }

    private static Long nonNegativeLong(JsonPrimitive p) {
        try {
            BigDecimal d = new BigDecimal(p.getAsString());
            long v = d.longValueExact();
            return v < 0 ? null : v;
        } catch (ArithmeticException | NumberFormatException e) {
            return null;
        }
    }

    /** Two tensors sharing bytes would let a write to one corrupt the other; the format forbids it. */
    private static void checkNoOverlap(Path file, Map<String, TensorInfo> tensors) {
        List<TensorInfo> byOffset = new ArrayList<>(tensors.values());
        byOffset.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        TensorInfo previous = null;
        for (TensorInfo t : byOffset) {
            if (t.byteSize() == 0) {
                continue;
            }
            if (previous != null && t.begin() < previous.end()) {
                throw new ModelFormatException(file, "tensors '" + previous.name() + "' (bytes " + previous.begin()
                        + ".." + previous.end() + ") and '" + t.name() + "' (bytes " + t.begin() + ".." + t.end()
                        + ") overlap; each tensor must have its own bytes");
            }
            previous = t;
        }
    }

    static ModelFormatException tensorError(Path file, String tensor, String message) {
        return new ModelFormatException(file, "tensor '" + abbreviate(tensor) + "': " + message);
    }

    /** Keeps messages readable when a corrupt header holds megabytes of JSON. */
    static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }
}
