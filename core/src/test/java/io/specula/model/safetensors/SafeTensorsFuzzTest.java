package io.specula.model.safetensors;

import com.google.gson.JsonElement;
import io.specula.SpeculaException;
import io.specula.testing.Fuzz;
import io.specula.testing.JsonFuzz;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Fuzzes the safetensors reader (header length, JSON header, offsets, then reading every tensor of a file that
 * opened): whatever the bytes, the only exception is the project's own {@link SpeculaException} (a
 * ModelFormatException naming the file), never an index, buffer, arithmetic or parse error, and never a crash.
 * Each property runs a fixed number of seeded cases ({@link Fuzz}), which keeps it to a second or two; a failure
 * names the seed and case that replay it.
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

    @AfterAll
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

    @TestFactory
    Stream<DynamicTest> anyBytes() {
        return Fuzz.property("SafeTensorsFuzzTest.anyBytes", 400, SafeTensorsFuzzTest::bytes,
                SafeTensorsFuzzTest::openAndReadAll);
    }

    @TestFactory
    Stream<DynamicTest> aValidFileWithSomeBytesChanged() {
        return Fuzz.property("SafeTensorsFuzzTest.aValidFileWithSomeBytesChanged", 600,
                SafeTensorsFuzzTest::byteEdits, edits -> openAndReadAll(withBytesChanged(edits)));
    }

    /** {@link #VALID} with each edit {@code {position, kind, byte}} applied: kind 0 sets, 1 truncates, 2 inserts. */
    static byte[] withBytesChanged(List<int[]> edits) {
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
        return bytes;
    }

    /** JSON-header edits of {@link #VALID} and a change of its data size (bytes added or cut off). */
    record HeaderEdit(List<JsonFuzz.Edit> edits, int extraData) {
    }

    @TestFactory
    Stream<DynamicTest> aValidHeaderWithHostileValues() {
        return Fuzz.property("SafeTensorsFuzzTest.aValidHeaderWithHostileValues", 800,
                r -> new HeaderEdit(JsonFuzz.edits(r, 3), Fuzz.oneOf(r, 0, 0, 0, -1, -8, 1, 2, 64)),
                edit -> openAndReadAll(withHeaderEdited(edit)));
    }

    static byte[] withHeaderEdited(HeaderEdit edit) {
        int headerLength = (int) ByteBuffer.wrap(VALID, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(VALID, 8, headerLength, StandardCharsets.UTF_8);
        JsonElement edited = JsonFuzz.apply(header, edit.edits());
        byte[] json = edited.toString().getBytes(StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(VALID, 8 + headerLength, VALID.length);
        data = Arrays.copyOf(data, Math.max(0, data.length + edit.extraData()));
        ByteBuffer out = ByteBuffer.allocate(8 + json.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(json.length).put(json).put(data);
        return out.array();
    }

    /** Random bytes, or random text behind a plausible header length (so the JSON parser sees it). */
    static byte[] bytes(SplittableRandom r) {
        if (r.nextBoolean()) {
            return Fuzz.bytes(r, 128);
        }
        byte[] text = Fuzz.string(r, 80).getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + text.length).order(ByteOrder.LITTLE_ENDIAN).putLong(text.length).put(text)
            .array();
    }

    /** One to four byte edits {@code {position, kind 0..2, byte 0..255}}. */
    static List<int[]> byteEdits(SplittableRandom r) {
        return Fuzz.listOf(r, 1, 4,
                x -> new int[] {Fuzz.anyInt(x), Fuzz.intBetween(x, 0, 2), Fuzz.intBetween(x, 0, 255)});
    }
}
