package io.specula.model.safetensors;

import io.specula.kernel.HalfFloats;
import io.specula.model.ModelFormatException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * A safetensors file, read through memory maps. {@link #open} validates the whole header (sizes, offsets, types,
 * overlaps) against the file's length, so that reading a tensor afterwards cannot run past the file; every problem is
 * a {@link ModelFormatException} naming the file and the tensor.
 *
 * <p>Each read maps only the tensor's own bytes, in chunks below 2 GB, because one {@link MappedByteBuffer} cannot
 * exceed {@code Integer.MAX_VALUE} bytes while files (and single float32 embeddings) can.
 *
 * <p>{@link #floats} converts F16 and BF16 to float32 here, in Java: BF16 data must never reach DJL, whose PyTorch
 * engine aborts the JVM on BF16 tensors on the CPU. The CPU kernels keep 16-bit weights as they are:
 * {@link #readShorts} copies their raw values into a Java array (a bulk copy, no per-element conversion), and
 * {@link #readFloatRows} decodes a range of a tensor at a time for quantizing at load. Those two read through the
 * channel into a small buffer instead of mapping: a mapped region would count in the process's resident memory until
 * the garbage collector unmaps it, on top of the copy.
 *
 * <p>Thread-safe: reads share nothing but the channel, whose {@code map} is thread-safe.
 */
public final class SafeTensorsFile implements AutoCloseable {

    /** The Python library's limit; a larger header is a corrupt length field, not a real model. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    /** Largest region mapped at once: a multiple of every element size, well below the 2 GB limit of a buffer. */
    private static final long MAP_CHUNK_BYTES = 1L << 30;

    /** Buffer of the copying reads: large enough for few system calls, small next to any model. */
    private static final int READ_CHUNK_BYTES = 8 << 20;

    /**
     * One read buffer per loading thread, reused: a direct buffer's memory is only freed when the garbage collector
     * gets to it, so a new one per read would pile up hundreds of megabytes of native memory while a model loads.
     */
    private static final ThreadLocal<ByteBuffer> READ_BUFFER = ThreadLocal.withInitial(() ->
            ByteBuffer.allocateDirect(READ_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN));

    private final Path file;
    private final FileChannel channel;
    private final long dataStart;
    private final long fileSize;
    private final SafeTensorsHeader header;

    private SafeTensorsFile(Path file, FileChannel channel, long dataStart, long fileSize, SafeTensorsHeader header) {
        this.file = file;
        this.channel = channel;
        this.dataStart = dataStart;
        this.fileSize = fileSize;
        this.header = header;
    }

    /** Opens and validates {@code file}; the tensors' bytes are not read until asked for. */
    public static SafeTensorsFile open(Path file) {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "file not found");
        } catch (IOException | SecurityException e) {
            throw new ModelFormatException(file, "cannot be opened: " + e.getMessage(), e);
        }
        try {
            long size = channel.size();
            if (size < 8) {
                throw new ModelFormatException(file, "truncated: " + size
                        + " bytes; a safetensors file starts with an 8-byte header length");
            }
            long headerLength = readFully(channel, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            // Unsigned in the format: a negative long here is a length above 2^63.
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw new ModelFormatException(file, "header length " + Long.toUnsignedString(headerLength)
                        + " is not plausible (at most " + MAX_HEADER_BYTES + " bytes); not a safetensors file?");
            }
            if (8 + headerLength > size) {
                throw new ModelFormatException(file, "truncated: the header length says " + headerLength
                        + " bytes of header, but the file has only " + (size - 8) + " bytes after the length");
            }
            if (headerLength < 2) {
                throw new ModelFormatException(file, "header of " + headerLength
                        + " bytes cannot hold a JSON object; not a safetensors file?");
            }
            byte[] json = new byte[(int) headerLength];
            readFully(channel, 8, (int) headerLength).get(json);
            long dataStart = 8 + headerLength;
            SafeTensorsHeader header = SafeTensorsHeader.parse(file, json, size - dataStart);
            return new SafeTensorsFile(file, channel, dataStart, size, header);
        } catch (IOException e) {
            closeQuietly(channel);
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    public Path path() {
        return file;
    }

    /** The tensor names, sorted. */
    public Set<String> names() {
        return header.tensors.keySet();
    }

    public boolean contains(String name) {
        return header.tensors.containsKey(name);
    }

    /** The {@code __metadata__} strings (empty when the header has none), e.g. {@code format = pt}. */
    public Map<String, String> metadata() {
        return header.metadata;
    }

    /** The header entry of {@code name}. */
    public TensorInfo info(String name) {
        TensorInfo t = header.tensors.get(name);
        if (t == null) {
            throw new ModelFormatException(file, "tensor '" + name + "' not found (the file has " + names().size()
                    + " tensors)");
        }
        return t;
    }

    /** The tensor as float32 values in row-major order, converted from F16 or BF16 if stored so. */
    public float[] floats(String name) {
        return floats(name, MAP_CHUNK_BYTES);
    }

    /** As {@link #floats(String)}, mapping at most {@code chunkBytes} (a multiple of 4) at a time; for tests. */
    float[] floats(String name, long chunkBytes) {
        TensorInfo t = info(name);
        if (!t.dtype().isFloatConvertible()) {
            throw SafeTensorsHeader.tensorError(file, name, "unsupported dtype " + t.dtype()
                    + "; expected F32, F16 or BF16");
        }
        long n = t.numElements();
        if (n > Integer.MAX_VALUE - 8) {
            throw SafeTensorsHeader.tensorError(file, name, Arrays.toString(t.shape()) + " has " + n
                    + " elements, more than one Java array can hold");
        }
        float[] out = new float[(int) n];
        int at = 0;
        long begin = dataStart + t.begin();
        long end = dataStart + t.end();
        for (long pos = begin; pos < end; pos += chunkBytes) {
            ByteBuffer chunk = map(name, pos, Math.min(chunkBytes, end - pos));
            at = decode(t.dtype(), chunk, out, at);
        }
        return out;
    }

    /**
     * Copies the raw 16-bit values of an F16 or BF16 tensor into {@code dst[at, at + n)} ({@code n} its element
     * count): the bytes as stored, little-endian, without any conversion.
     */
    public void readShorts(String name, short[] dst, int at) {
        TensorInfo t = info(name);
        if (t.dtype() != DType.F16 && t.dtype() != DType.BF16) {
            throw SafeTensorsHeader.tensorError(file, name, "is " + t.dtype() + ", not a 16-bit float type");
        }
        int n = elements(name, t);
        ByteBuffer buf = READ_BUFFER.get();
        long pos = dataStart + t.begin();
        int done = 0;
        while (done < n) {
            int count = Math.min(n - done, buf.capacity() / 2);
            read(name, buf, pos + 2L * done, 2 * count);
            buf.asShortBuffer().get(dst, at + done, count);
            done += count;
        }
    }

    /**
     * Elements {@code [from, from + count)} of an F32, F16 or BF16 tensor (row-major order) as float32, into
     * {@code dst[at, at + count)}: widening is exact.
     */
    public void readFloatRows(String name, long from, int count, float[] dst, int at) {
        TensorInfo t = info(name);
        if (!t.dtype().isFloatConvertible()) {
            throw SafeTensorsHeader.tensorError(file, name, "unsupported dtype " + t.dtype()
                    + "; expected F32, F16 or BF16");
        }
        if (from < 0 || count < 0 || from + count > t.numElements()) {
            throw new IndexOutOfBoundsException("elements " + from + ".." + (from + count) + " of " + t);
        }
        int size = t.dtype().byteSize();
        ByteBuffer buf = READ_BUFFER.get();
        long pos = dataStart + t.begin() + from * size;
        int done = 0;
        while (done < count) {
            int n = Math.min(count - done, buf.capacity() / size);
            read(name, buf, pos + (long) size * done, size * n);
            decode(t.dtype(), buf, dst, at + done);
            done += n;
        }
    }

    private int elements(String name, TensorInfo t) {
        long n = t.numElements();
        if (n > Integer.MAX_VALUE - 8) {
            throw SafeTensorsHeader.tensorError(file, name, Arrays.toString(t.shape()) + " has " + n
                    + " elements, more than one Java array can hold");
        }
        return (int) n;
    }

    /** Reads exactly {@code length} bytes at {@code position} into {@code buf} (cleared, then flipped for reading). */
    private void read(String name, ByteBuffer buf, long position, int length) {
        if (!channel.isOpen()) {
            throw new IllegalStateException(file + " is closed");
        }
        buf.clear().limit(length);
        try {
            while (buf.hasRemaining()) {
                if (channel.read(buf, position + buf.position()) < 0) {
                    throw SafeTensorsHeader.tensorError(file, name, "the file ends at byte "
                            + (position + buf.position()) + ", inside the tensor's data (it shrank from " + fileSize
                            + " bytes since it was opened?)");
                }
            }
        } catch (IOException e) {
            throw SafeTensorsHeader.tensorError(file, name, "cannot be read: " + e.getMessage());
        }
        buf.flip();
    }

    private ByteBuffer map(String name, long position, long length) {
        if (!channel.isOpen()) {
            throw new IllegalStateException(file + " is closed");
        }
        try {
            // A file that shrank since open() would make the mapped pages fault (SIGBUS); check first.
            if (channel.size() < fileSize) {
                throw SafeTensorsHeader.tensorError(file, name, "the file shrank from " + fileSize + " to "
                        + channel.size() + " bytes while open");
            }
            return channel.map(FileChannel.MapMode.READ_ONLY, position, length).order(ByteOrder.LITTLE_ENDIAN);
        } catch (IOException e) {
            throw SafeTensorsHeader.tensorError(file, name, "cannot be read: " + e.getMessage());
        }
    }

    private static int decode(DType dtype, ByteBuffer bytes, float[] out, int at) {
        switch (dtype) {
            case F32 -> {
                int n = bytes.remaining() / 4;
                bytes.asFloatBuffer().get(out, at, n);
                return at + n;
            }
            case F16 -> {
                int n = bytes.remaining() / 2;
                for (int i = 0; i < n; i++) {
                    out[at + i] = HalfFloats.f16ToFloat(bytes.getShort(2 * i));
                }
                return at + n;
            }
            case BF16 -> {
                int n = bytes.remaining() / 2;
                for (int i = 0; i < n; i++) {
                    out[at + i] = HalfFloats.bf16ToFloat(bytes.getShort(2 * i));
                }
                return at + n;
            }
            default -> throw new IllegalStateException("not a float type: " + dtype);
        }
    }

    private static ByteBuffer readFully(FileChannel channel, long position, int length) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(length);
        while (buf.hasRemaining()) {
            if (channel.read(buf, position + buf.position()) < 0) {
                throw new IOException("unexpected end of file at byte " + (position + buf.position()));
            }
        }
        return buf.flip();
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Already failing with a more useful error.
        }
    }

    /** Closes the channel; buffers already returned stay valid (they are copies), mapped regions are freed by GC. */
    @Override
    public void close() {
        closeQuietly(channel);
    }

    @Override
    public String toString() {
        return "SafeTensorsFile[" + file + ", " + header.tensors.size() + " tensors]";
    }
}
