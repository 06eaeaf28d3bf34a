package io.specula.model.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** Reading does not depend on one buffer covering the file: offsets past 2 GB and tensors read in several maps. */
class SafeTensorsLargeFileTest {

    @TempDir
    Path dir;

    @Test
    void tensorBeyondTwoGigabytes() throws IOException {
        // A sparse file: 2.5 GB of an unused U8 tensor (never read, so never allocated on disk), then a small one.
        long big = 2_500_000_000L;
        String header = "{\"pad\":{\"dtype\":\"U8\",\"shape\":[" + big + "],\"data_offsets\":[0," + big + "]},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[" + big + "," + (big + 12) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        Path file = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
            raf.write(prefix.array());
            raf.write(h);
            raf.seek(8 + h.length + big);
            ByteBuffer w = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.5f).putFloat(-2f)
                    .putFloat(3.25f);
            raf.write(w.array());
        }
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertThat(f.info("pad").byteSize()).isEqualTo(big);
            assertThat(f.floats("w")).containsExactly(1.5f, -2f, 3.25f);
        }
    }

    @Test
    void readingInSeveralMapsGivesTheSameValues() {
        float[] a = SafeTensorsRoundTripTest.random(1001, 5);
        Path file = dir.resolve("chunks.safetensors");
        new SafeTensorsWriter().add("f32", DType.F32, new long[]{1001}, a).add("f16", DType.F16, new long[]{1001}, a)
                .add("bf16", DType.BF16, new long[]{1001}, a).write(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            for (String name : f.names()) {
                assertThat(f.floats(name, 12)).containsExactly(f.floats(name));
            }
        }
    }
}
