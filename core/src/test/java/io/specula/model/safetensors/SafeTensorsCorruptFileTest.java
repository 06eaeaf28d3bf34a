package io.specula.model.safetensors;

import io.specula.model.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Damaged files fail at open (or, for a tensor of a type that cannot be converted, when that tensor is read) with a
 * {@link ModelFormatException} that names the file and the tensor, never with a buffer or index error.
 */
class SafeTensorsCorruptFileTest {

    @TempDir
    Path dir;

    /** A file with this header text and {@code dataBytes} bytes of data. */
    private Path file(String header, int dataBytes) throws IOException {
        return raw(header.getBytes(StandardCharsets.UTF_8), header.getBytes(StandardCharsets.UTF_8).length,
                dataBytes);
    }

    private Path raw(byte[] header, long declaredLength, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredLength).put(header);
        Path f = dir.resolve("bad.safetensors");
        Files.write(f, b.array());
        return f;
    }

    private void assertOpenFails(Path f, String... fragments) {
        assertThatThrownBy(() -> SafeTensorsFile.open(f).close())
                .isInstanceOf(ModelFormatException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContainingAll(fragments);
    }

    @Test
    void validFileForReference() throws IOException {
        Path f = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8);
        try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
            assertThat(s.floats("a")).containsExactly(0f, 0f);
        }
    }

    @Test
    void shorterThanTheLengthField() throws IOException {
        Path f = dir.resolve("tiny.safetensors");
        Files.write(f, new byte[]{1, 2, 3});
        assertOpenFails(f, "truncated", "3 bytes");
    }

    @Test
    void emptyFile() throws IOException {
        Path f = dir.resolve("empty.safetensors");
        Files.write(f, new byte[0]);
        assertOpenFails(f, "truncated");
    }

    @Test
    void headerLengthPastTheEnd() throws IOException {
        Path f = raw("{}".getBytes(StandardCharsets.UTF_8), 5000, 0);
        assertOpenFails(f, "truncated", "5000");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        assertOpenFails(raw(new byte[16], 200_000_000L, 0), "200000000", "not plausible");
        assertOpenFails(raw(new byte[16], -1L, 0), "18446744073709551615");
    }

    @Test
    void headerNotJson() throws IOException {
        assertOpenFails(file("this is not json at all!", 0), "not valid JSON");
        assertOpenFails(file("{\"a\":{\"dtype\":", 0), "not valid JSON");
        assertOpenFails(file("[1,2,3]", 0), "expected a JSON object");
        assertOpenFails(file("\"str\"", 0), "expected a JSON object");
        assertOpenFails(file("[".repeat(100_000), 0), "not valid JSON");   // no stack overflow
        assertOpenFails(raw(new byte[]{'{', (byte) 0xff, (byte) 0xfe, '}'}, 4, 0), "UTF-8");
    }

    @Test
    void offsetsPastTheEnd() throws IOException {
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 8),
                "tensor 'w'", "data_offsets [0, 16]", "8", "truncated");
    }

    @Test
    void truncatedData() throws IOException {
        Path good = dir.resolve("good.safetensors");
        new SafeTensorsWriter().add("a", DType.F32, new long[]{100}, new float[100])
                .add("b", DType.F32, new long[]{100}, new float[100]).write(good);
        byte[] bytes = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, Arrays.copyOf(bytes, bytes.length - 10));
        assertOpenFails(cut, "tensor 'b'", "data_offsets [400, 800]");
    }

    @Test
    void beginAfterEnd() throws IOException {
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 8),
                "tensor 'w'", "begin <= end");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path f = file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        assertOpenFails(f, "'a'", "'b'", "overlap");
    }

    @Test
    void sizeNotMatchingDtypeTimesShape() throws IOException {
        assertOpenFails(file("{\"w\":{\"dtype\":\"F16\",\"shape\":[2,3],\"data_offsets\":[0,24]}}", 24),
                "tensor 'w'", "24 bytes", "F16 [2, 3]", "6 x 2");
    }

    @Test
    void badShapesAndOffsets() throws IOException {
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8),
                "tensor 'w'", "'shape'", "non-negative integers");
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", 8),
                "'shape'");
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}", 8),
                "'shape'");
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", 8), "'shape'");
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8), "'shape'");
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8),
                "'data_offsets'", "2 non-negative");
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,1e30]}}", 8),
                "'data_offsets'");
        assertOpenFails(file("{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                + "\"data_offsets\":[0,8]}}", 8), "too large");
        assertOpenFails(file("{\"w\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", 8), "'dtype'");
        assertOpenFails(file("{\"w\":[1,2]}", 8), "tensor 'w'", "expected an object");
        assertOpenFails(file("{\"__metadata__\":{\"format\":1}}", 0), "__metadata__.format");
        assertOpenFails(file("{\"__metadata__\":[]}", 0), "__metadata__");
    }

    @Test
    void unknownDtypeFailsAtOpen() throws IOException {
        assertOpenFails(file("{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8),
                "tensor 'w'", "unsupported dtype 'Q4_K'");
    }

    @Test
    void knownButUnsupportedDtypeFailsWhenRead() throws IOException {
        // A model may carry an integer buffer it never uses; the file opens, reading that tensor as floats fails.
        Path f = file("{\"ids\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", 20);
        try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
            assertThat(s.info("ids").dtype()).isEqualTo(DType.I64);
            assertThat(s.floats("w")).containsExactly(0f);
            assertThatThrownBy(() -> s.floats("ids"))
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageContainingAll(f.toString(), "tensor 'ids'", "unsupported dtype I64", "F32, F16 or BF16");
        }
    }

    @Test
    void missingTensorAndMissingFile() throws IOException {
        Path f = file("{}", 0);
        try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
            assertThat(s.names()).isEmpty();
            assertThatThrownBy(() -> s.floats("nope"))
                    .isInstanceOf(ModelFormatException.class)
                    .hasMessageContainingAll(f.toString(), "tensor 'nope' not found");
        }
        Path absent = dir.resolve("absent.safetensors");
        assertOpenFails(absent, "not found");
    }

    @Test
    void headerMayBePaddedWithSpaces() throws IOException {
        Path f = file("{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}      ", 2);
        try (SafeTensorsFile s = SafeTensorsFile.open(f)) {
            assertThat(s.floats("a")).containsExactly(0f);
        }
    }
}
