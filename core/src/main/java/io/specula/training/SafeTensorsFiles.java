package io.specula.training;

import com.google.gson.Gson;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.model.ModelFormatException;
import io.specula.model.TensorSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The little of the safetensors format the trainer needs: writing F32 or F16 tensors, and reading F32, F16 and BF16
 * back as float32 (in Java: no BF16 tensor is ever made in DJL). Kept in this package until the engine's own
 * safetensors support lands; models written here load with any safetensors reader.
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

    /** Writes the tensors, in the map's order, to {@code file} (through a temporary file, so a crash leaves no half file). */
    public static void write(Path file, Map<String, Tensor> tensors, DType dtype, Map<String, String> metadata) {
        JsonObject header = new JsonObject();
        JsonObject meta = new JsonObject();
        meta.addProperty("format", "pt");
        metadata.forEach(meta::addProperty);
        header.add("__metadata__", meta);
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            JsonObject t = new JsonObject();
            t.addProperty("dtype", dtype.name());
            JsonArray shape = new JsonArray();
            for (long s : e.getValue().shape()) {
                shape.add(s);
            }
            t.add("shape", shape);
            long size = (long) e.getValue().data().length * dtype.bytes;
            JsonArray offsets = new JsonArray();
            offsets.add(offset);
            offsets.add(offset + size);
            t.add("data_offsets", offsets);
            header.add(e.getKey(), t);
            offset += size;
        }
        byte[] json = new Gson().toJson(header).getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] headerBytes = Arrays.copyOf(json, padded);
        Arrays.fill(headerBytes, json.length, padded, (byte) ' ');
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).flip();
                writeFully(ch, len);
                writeFully(ch, ByteBuffer.wrap(headerBytes));
                ByteBuffer buf = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
                for (Tensor t : tensors.values()) {
                    for (float v : t.data()) {
                        if (buf.remaining() < 4) {
                            writeFully(ch, buf.flip());
                            buf.clear();
                        }
                        if (dtype == DType.F32) {
                            buf.putFloat(v);
                        } else {
                            buf.putShort(HalfFloat.fromFloat(v));
                        }
                    }
                }
                writeFully(ch, buf.flip());
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Reads every tensor of a safetensors file as float32, in the file's order. */
    public static Map<String, Tensor> read(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            long headerLen = len.flip().getLong();
            if (headerLen < 2 || headerLen > Math.min(size - 8, 100_000_000)) {
                throw new ModelFormatException(file, "header length " + headerLen + " does not fit a file of " + size + " bytes");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            JsonObject header = JsonParser.parseString(new String(hb.array(), StandardCharsets.UTF_8)).getAsJsonObject();
            long base = 8 + headerLen;
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : header.entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                JsonObject t = e.getValue().getAsJsonObject();
                String dtype = t.get("dtype").getAsString();
                long[] shape = new long[t.getAsJsonArray("shape").size()];
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = t.getAsJsonArray("shape").get(i).getAsLong();
                }
                long begin = t.getAsJsonArray("data_offsets").get(0).getAsLong();
                long end = t.getAsJsonArray("data_offsets").get(1).getAsLong();
                long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
                int width = switch (dtype) {
                    case "F32" -> 4;
                    case "F16", "BF16" -> 2;
                    default -> throw new ModelFormatException(file, "tensor '" + e.getKey() + "': dtype " + dtype
                            + " is not supported here (F32, F16, BF16)");
                };
                if (end - begin != n * width || base + end > size || n > Integer.MAX_VALUE) {
                    throw new ModelFormatException(file, "tensor '" + e.getKey() + "': data offsets [" + begin + ", "
                            + end + ") do not hold shape " + Arrays.toString(shape) + " of " + dtype);
                }
                ByteBuffer data = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
                readFully(ch, data, base + begin);
                data.flip();
                float[] values = new float[(int) n];
                for (int i = 0; i < n; i++) {
                    values[i] = switch (dtype) {
                        case "F32" -> data.getFloat();
                        case "F16" -> HalfFloat.toFloat(data.getShort());
                        default -> Float.intBitsToFloat((data.getShort() & 0xFFFF) << 16);
                    };
                }
                out.put(e.getKey(), new Tensor(shape, values));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        } catch (IllegalStateException | UnsupportedOperationException | com.google.gson.JsonParseException e) {
            throw new ModelFormatException(file, "malformed safetensors header: " + e.getMessage(), e);
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        while (b.hasRemaining()) {
            int n = ch.read(b, at);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            at += n;
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
