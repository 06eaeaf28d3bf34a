package io.specula.model.safetensors;

import io.specula.kernel.HalfFloats;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/** What the writer writes, the reader reads back: exactly for F32, to the format's precision for F16 and BF16. */
class SafeTensorsRoundTripTest {

    @TempDir
    Path dir;

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-6, 4)));
        }
        return out;
    }

    static final float[] SPECIAL = {0f, -0f, 1f, -1f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 65504f, 65520f, 1e-8f, 0x1p-24f, 3.14159265f};

    @Test
    void f32IsExact() {
        float[] a = random(6 * 7, 1);
        Path file = dir.resolve("a.safetensors");
        new SafeTensorsWriter()
                .add("a", DType.F32, new long[]{6, 7}, a)
                .add("special", DType.F32, new long[]{SPECIAL.length}, SPECIAL)
                .add("scalar", DType.F32, new long[]{}, new float[]{42f})
                .add("empty", DType.F32, new long[]{0, 5}, new float[0])
                .write(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertThat(f.names()).containsExactly("a", "empty", "scalar", "special");
            assertThat(f.info("a").dtype()).isEqualTo(DType.F32);
            assertThat(f.info("a").shape()).containsExactly(6, 7);
            assertThat(f.floats("a")).containsExactly(a);
            assertThat(bits(f.floats("special"))).containsExactly(bits(SPECIAL));
            assertThat(f.floats("scalar")).containsExactly(42f);
            assertThat(f.info("scalar").shape()).isEmpty();
            assertThat(f.floats("empty")).isEmpty();
        }
    }

    @Test
    void f16KeepsWhatTheFormatCanHold() {
        float[] a = random(1000, 2);
        Path file = dir.resolve("h.safetensors");
        new SafeTensorsWriter().add("a", DType.F16, new long[]{10, 100}, a)
                .add("special", DType.F16, new long[]{SPECIAL.length}, SPECIAL).write(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertThat(f.info("a").dtype()).isEqualTo(DType.F16);
            assertThat(f.info("a").byteSize()).isEqualTo(2000);
            float[] back = f.floats("a");
            for (int i = 0; i < a.length; i++) {
                assertThat(back[i]).isEqualTo(HalfFloats.f16ToFloat(HalfFloats.floatToF16(a[i])));
                if (Math.abs(a[i]) >= 0x1p-14f && Math.abs(a[i]) <= 65504f) {
                    // Normal range: 11 significant bits, so within half a unit of 2^-11 relative.
                    assertThat(Math.abs(back[i] - a[i])).isLessThanOrEqualTo(Math.abs(a[i]) * 0x1p-11f);
                } else if (Math.abs(a[i]) < 0x1p-14f) {
                    assertThat(Math.abs(back[i] - a[i])).isLessThanOrEqualTo(0x1p-25f);
                }
            }
            float[] special = f.floats("special");
            assertThat(special).startsWith(0f, -0f, 1f, -1f, 0f, 0f, Float.POSITIVE_INFINITY,
                    Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY);
            assertThat(special[9]).isNaN();
            assertThat(special[10]).isEqualTo(65504f);
            assertThat(special[11]).isEqualTo(Float.POSITIVE_INFINITY);
            assertThat(special[13]).isEqualTo(0x1p-24f);
        }
    }

    @Test
    void bf16IsBitExactUnderRoundToNearestEven() {
        float[] a = random(999, 3);
        Path file = dir.resolve("b.safetensors");
        new SafeTensorsWriter().add("a", DType.BF16, new long[]{999}, a)
                .add("special", DType.BF16, new long[]{SPECIAL.length}, SPECIAL).write(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            float[] back = f.floats("a");
            for (int i = 0; i < a.length; i++) {
                int in = Float.floatToRawIntBits(a[i]);
                int rounded = (in + 0x7fff + ((in >>> 16) & 1)) & 0xffff0000;   // the rule, spelled out
                assertThat(Float.floatToRawIntBits(back[i])).isEqualTo(rounded);
                assertThat(Math.abs(back[i] - a[i])).isLessThanOrEqualTo(Math.abs(a[i]) * 0x1p-8f);
            }
            float[] special = f.floats("special");
            assertThat(special[6]).isEqualTo(Float.POSITIVE_INFINITY);   // MAX_VALUE rounds up past the largest bf16
            assertThat(special[9]).isNaN();
            assertThat(special[3]).isEqualTo(-1f);
        }
    }

    @Test
    void layoutFollowsThePythonLibrary() throws IOException {
        Path file = dir.resolve("layout.safetensors");
        new SafeTensorsWriter()
                .metadata("format", "pt")
                .add("z", DType.F16, new long[]{3}, new float[]{1, 2, 3})
                .add("b", DType.BF16, new long[]{1}, new float[]{1})
                .add("y", DType.F32, new long[]{2}, new float[]{1, 2})
                .add("a", DType.F32, new long[]{1}, new float[]{1})
                .write(file);
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        // Metadata first, then the largest dtype first and names in order within a dtype; spaces pad to 8 bytes.
        assertThat(header.stripTrailing()).isEqualTo("{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[12,14]},"
                + "\"z\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[14,20]}}");
        assertThat(n % 8).isZero();
        assertThat(bytes.length).isEqualTo(8 + n + 20);
        ByteBuffer data = ByteBuffer.wrap(bytes, (int) (8 + n), 20).slice().order(ByteOrder.LITTLE_ENDIAN);
        assertThat(data.getFloat(0)).isEqualTo(1f);
        assertThat(data.getFloat(8)).isEqualTo(2f);
        assertThat(data.getShort(12)).isEqualTo((short) 0x3f80);
        assertThat(data.getShort(14)).isEqualTo((short) 0x3c00);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertThat(f.metadata()).containsEntry("format", "pt").hasSize(1);
            assertThat(f.floats("z")).containsExactly(1, 2, 3);
        }
    }

    @Test
    void shardedWritingSplitsInOrderAndWritesAnIndex() throws IOException {
        SafeTensorsWriter w = new SafeTensorsWriter().metadata("format", "pt");
        float[][] data = new float[5][];
        for (int i = 0; i < 5; i++) {
            data[i] = random(100, 10 + i);
            w.add("t" + i, DType.F32, new long[]{10, 10}, data[i]);   // 400 bytes each
        }
        Files.writeString(dir.resolve("model.safetensors"), "stale");   // from an earlier export
        List<Path> files = w.writeSharded(dir, 1000);
        assertThat(files).extracting(p -> p.getFileName().toString()).containsExactly(
                "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                "model-00003-of-00003.safetensors", "model.safetensors.index.json");
        assertThat(dir.resolve("model.safetensors")).doesNotExist();
        String index = Files.readString(dir.resolve("model.safetensors.index.json"));
        assertThat(index).isEqualTo("""
                {
                  "metadata": {
                    "total_parameters": 500,
                    "total_size": 2000
                  },
                  "weight_map": {
                    "t0": "model-00001-of-00003.safetensors",
                    "t1": "model-00001-of-00003.safetensors",
                    "t2": "model-00002-of-00003.safetensors",
                    "t3": "model-00002-of-00003.safetensors",
                    "t4": "model-00003-of-00003.safetensors"
                  }
                }
                """);
        try (SafeTensorsFile f = SafeTensorsFile.open(files.get(1))) {
            assertThat(f.names()).containsExactly("t2", "t3");
            assertThat(f.metadata()).containsEntry("format", "pt");
            assertThat(f.floats("t3")).containsExactly(data[3]);
        }
        // Everything fits in one shard: a single model.safetensors and no index, as save_pretrained does.
        List<Path> single = w.writeSharded(dir, 1 << 20);
        assertThat(single).containsExactly(dir.resolve("model.safetensors"));
        try (var listing = Files.list(dir)) {
            assertThat(listing.map(p -> p.getFileName().toString())).containsExactly("model.safetensors");
        }
    }

    private static int[] bits(float[] a) {
        int[] out = new int[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = Float.floatToRawIntBits(a[i]);
        }
        return out;
    }
}
