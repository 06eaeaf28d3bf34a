package io.specula.model.safetensors;

import com.google.gson.JsonElement;
import io.specula.SpeculaException;
import io.specula.testing.JsonFuzz;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the safetensors reader (header length, JSON header, offsets, then reading every tensor of a file that
 * opened): whatever the bytes, the only exception is the project's own {@link SpeculaException} (a
 * ModelFormatException naming the file), never an index, buffer, arithmetic or parse error, and never a crash.
 * A fixed number of tries per property keeps each to a second or two.
 */
class SafeTensorsFuzzTest {

    static final Path DIR = tempDir();
    static final Path FILE = DIR.resolve("model.safetensors");
    static final byte[] VALID = validFile();

    static Path tempDir() {
        try {
            return Files.createTempDirectory("safetensors-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] validFile() {
        Path p = DIR.resolve("valid.safetensors");
        new SafeTensorsWriter().metadata("format", "pt")
            .add("a.weight", DType.F32, new long[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6})
            .add("b.weight", DType.BF16, new long[] {4}, new float[] {1, -2, 0.5f, 8})
            .add("c.bias", DType.F16, new long[] {0}, new float[0])
            .write(p);
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @AfterContainer
    static void cleanUp() throws IOException {
        try (var files = Files.list(DIR)) {
            for (Path p : files.toList()) {
                Files.deleteIfExists(p);
            }
        }
        Files.deleteIfExists(DIR);
    }

    /** Opens the bytes as a safetensors file and reads every tensor; only SpeculaException may escape. */
    static void openAndReadAll(byte[] bytes) throws IOException {
        Files.write(FILE, bytes);
        try (SafeTensorsFile f = SafeTensorsFile.open(FILE)) {
            for (String name : f.names()) {
                float[] values = f.floats(name);
                assertThat((long) values.length).isEqualTo(Arrays.stream(f.info(name).shape())
                        .reduce(1, Math::multiplyExact));
            }
        } catch (SpeculaException expected) {
            assertThat(expected.getMessage()).contains(FILE.toString());
        }
    }

    @Property(tries = 400)
    void anyBytes(@ForAll("bytes") byte[] bytes) throws IOException {
        openAndReadAll(bytes);
    }

    @Property(tries = 600)
    void aValidFileWithSomeBytesChanged(@ForAll("byteEdits") List<int[]> edits) throws IOException {
        byte[] bytes = VALID.clone();
        for (int[] e : edits) {
            int at = Math.floorMod(e[0], bytes.length);
            switch (e[1]) {
                case 0 -> bytes[at] = (byte) e[2];
                case 1 -> bytes = Arrays.copyOf(bytes, at);
                default -> {
                    byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);
                    System.arraycopy(bytes, at, longer, at + 1, bytes.length - at);
                    longer[at] = (byte) e[2];
                    bytes = longer;
                }
            }
            if (bytes.length == 0) {
                break;
            }
        }
        openAndReadAll(bytes);
    }

    @Property(tries = 800)
    void aValidHeaderWithHostileValues(@ForAll("jsonEdits") List<JsonFuzz.Edit> edits,
                                       @ForAll("dataSizes") int extraData) throws IOException {
        int headerLength = (int) ByteBuffer.wrap(VALID, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(VALID, 8, headerLength, StandardCharsets.UTF_8);
        JsonElement edited = JsonFuzz.apply(header, edits);
        byte[] json = edited.toString().getBytes(StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(VALID, 8 + headerLength, VALID.length);
        data = Arrays.copyOf(data, Math.max(0, data.length + extraData));
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data);
        openAndReadAll(out.array());
    }

    @Provide
    Arbitrary<byte[]> bytes() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(128);
        // Random bytes behind a plausible header length, so the JSON parser sees them.
        Arbitrary<byte[]> behindALength = Arbitraries.strings().ofMaxLength(80).map(s -> {
            byte[] text = s.getBytes(StandardCharsets.UTF_8);
            return ByteBuffer.allocate(8 + text.length).order(ByteOrder.LITTLE_ENDIAN).putLong(text.length).put(text)
                .array();
        });
        return Arbitraries.oneOf(random, behindALength);
    }

    @Provide
    Arbitrary<List<int[]>> byteEdits() {
        return net.jqwik.api.Combinators.combine(Arbitraries.integers(), Arbitraries.integers().between(0, 2),
                Arbitraries.integers().between(0, 255)).as((a, b, c) -> new int[] {a, b, c}).list().ofMinSize(1)
            .ofMaxSize(4);
    }

    @Provide
    Arbitrary<List<JsonFuzz.Edit>> jsonEdits() {
        return JsonFuzz.edits(3);
    }

    @Provide
    Arbitrary<Integer> dataSizes() {
        return Arbitraries.of(0, 0, 0, -1, -8, 1, 2, 64);
    }
}
