package io.specula.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import io.specula.SpeculaException;
import io.specula.gguf.GgufWriter.TensorType;
import io.specula.model.llama.LlamaWeights;
import io.specula.testing.Fuzz;
import io.specula.tokenizer.HfTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Fuzzes the GGUF reader and everything that reads a file it opened: the header (magic, version, counts, keys,
 * value types, strings and arrays, tensor entries, alignment), the hyperparameters, every tensor decoded into its
 * weight format (F32, F16, BF16, Q8_0, Q5_0, Q4_0, Q4_1, Q6_K), and the tokenizer made from the metadata (built by
 * the native tokenizers library). Whatever the bytes, the only exception is the project's own
 * {@link SpeculaException} naming the file, never an index, buffer, arithmetic or allocation error, and never a crash.
 * Seeded cases ({@link Fuzz}); a failure names the seed and case that replay it.
 */
class GgufFuzzTest {

    static final Path DIR = tempDir();
    static final Path FILE = DIR.resolve("model.gguf");
    static final byte[] VALID = validFile();

    static Path tempDir() {
        try {
            return Files.createTempDirectory("gguf-fuzz");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A complete, tiny llama model (hidden 32, one layer, MLP 256, a 12-token SentencePiece vocabulary) whose tensors
     * use every supported type, with seeded random bytes for the quantized blocks.
     */
    static byte[] validFile() {
        SplittableRandom r = new SplittableRandom(17);
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama")
                .putUInt32("general.alignment", 32).putUInt32("llama.block_count", 1)
                .putUInt32("llama.context_length", 16).putUInt32("llama.embedding_length", 32)
                .putUInt32("llama.feed_forward_length", 256).putUInt32("llama.attention.head_count", 2)
                .putUInt32("llama.attention.head_count_kv", 1)
                .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f).putFloat32("llama.rope.freq_base", 1e4f)
                .putString("tokenizer.ggml.model", "llama")
                .putStrings("tokenizer.ggml.tokens", List.of("<unk>", "<s>", "</s>", "▁", "a", "b", "▁a", "ab",
                        "▁ab", "<0x0A>", "c", "▁c"))
                .putFloat32s("tokenizer.ggml.scores", new float[] {0, 0, 0, -1, -2, -3, -4, -5, -6, 0, -7, -8})
                .putInt32s("tokenizer.ggml.token_type", new int[] {2, 3, 3, 1, 1, 1, 1, 1, 1, 6, 1, 1})
                .putUInt32("tokenizer.ggml.bos_token_id", 1).putUInt32("tokenizer.ggml.eos_token_id", 2)
                .putString("tokenizer.chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}");
        w.addRawTensor("token_embd.weight", new long[] {32, 12}, GgmlType.Q8_0.id, blocks(r, GgmlType.Q8_0, 32, 12));
        w.addRawTensor("output.weight", new long[] {32, 12}, GgmlType.Q4_0.id, blocks(r, GgmlType.Q4_0, 32, 12));
        w.addTensor("output_norm.weight", new long[] {32}, TensorType.F32, floats(r, 32));
        w.addTensor("blk.0.attn_norm.weight", new long[] {32}, TensorType.F32, floats(r, 32));
        w.addTensor("blk.0.attn_q.weight", new long[] {32, 32}, TensorType.F16, floats(r, 32 * 32));
        w.addTensor("blk.0.attn_k.weight", new long[] {16, 32}, TensorType.BF16, floats(r, 16 * 32));
        w.addRawTensor("blk.0.attn_v.weight", new long[] {32, 16}, GgmlType.Q5_0.id, blocks(r, GgmlType.Q5_0, 32, 16));
        w.addRawTensor("blk.0.attn_output.weight", new long[] {32, 32}, GgmlType.Q4_1.id,
                blocks(r, GgmlType.Q4_1, 32, 32));
        w.addTensor("blk.0.ffn_norm.weight", new long[] {32}, TensorType.F32, floats(r, 32));
        w.addRawTensor("blk.0.ffn_gate.weight", new long[] {32, 256}, GgmlType.Q8_0.id,
                blocks(r, GgmlType.Q8_0, 32, 256));
        w.addTensor("blk.0.ffn_up.weight", new long[] {256, 32}, TensorType.F32, floats(r, 256 * 32));
        w.addRawTensor("blk.0.ffn_down.weight", new long[] {256, 32}, GgmlType.Q6_K.id,
                blocks(r, GgmlType.Q6_K, 256, 32));
        Path p = DIR.resolve("valid.gguf");
        w.write(p);
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Random blocks with finite f16 scales, {@code rows} rows of {@code cols} weights. */
    static byte[] blocks(SplittableRandom r, GgmlType type, int cols, int rows) {
        byte[] b = new byte[(int) type.rowBytes(cols) * rows];
        r.nextBytes(b);
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 0; at < b.length; at += type.typeSize) {
            short scale = (short) r.nextInt(0x2000, 0x3000);   // about 1e-4 .. 0.06
            switch (type) {
                case Q6_K -> buf.putShort(at + 208, scale);
                case Q4_1 -> buf.putShort(at, scale).putShort(at + 2, scale);
                default -> buf.putShort(at, scale);
            }
        }
        return b;
    }

    static float[] floats(SplittableRandom r, int n) {
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) r.nextGaussian();
        }
        return f;
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

    /** Opens the bytes as a GGUF model, reads every tensor in its format and builds the tokenizer. */
    static void openAndReadAll(byte[] bytes) throws IOException {
        Files.write(FILE, bytes);
        try (GgufModel m = GgufModel.open(FILE)) {
            LlamaWeights.load(m.config(), m.weights());
            for (GgufFile.Tensor t : m.file().tensors().values()) {
                ByteBuffer b = ByteBuffer.allocate((int) Math.min(t.byteSize(), 1 << 20));
                m.file().read(t, t.byteSize() - b.capacity(), b);
            }
            try (HfTokenizer tokenizer = m.tokenizer()) {
                tokenizer.decode(tokenizer.encode("ab c\na", true));
            }
            m.eosIds();
        } catch (SpeculaException expected) {
            assertThat(expected.getMessage()).contains(FILE.toString());
        }
    }

    @TestFactory
    Stream<DynamicTest> theValidFileLoads() {
        return Stream.of(DynamicTest.dynamicTest("valid", () -> {
            Files.write(FILE, VALID);
            try (GgufModel m = GgufModel.open(FILE); HfTokenizer t = m.tokenizer()) {
                assertThat(LlamaWeights.load(m.config(), m.weights()).summary().toString())
                        .contains("q8_0", "q4", "f16", "bf16", "q8 (blocks of 16)");
                assertThat(t.encode("ab c", true)).containsExactly(1, 8, 11);
            }
        }));
    }

    @TestFactory
    Stream<DynamicTest> anyBytes() {
        return Fuzz.property("GgufFuzzTest.anyBytes", 300, GgufFuzzTest::bytes, GgufFuzzTest::openAndReadAll);
    }

    @TestFactory
    Stream<DynamicTest> aValidFileWithSomeBytesChanged() {
        return Fuzz.property("GgufFuzzTest.aValidFileWithSomeBytesChanged", 700, GgufFuzzTest::byteEdits,
                edits -> openAndReadAll(withBytesChanged(edits)));
    }

    @TestFactory
    Stream<DynamicTest> aValidHeaderWithFieldsChanged() {
        return Fuzz.property("GgufFuzzTest.aValidHeaderWithFieldsChanged", 700, GgufFuzzTest::headerEdits,
                edits -> openAndReadAll(withBytesChanged(edits)));
    }

    /** Random bytes, half of them behind the magic and a version. */
    static byte[] bytes(SplittableRandom r) {
        byte[] b = Fuzz.bytes(r, 200);
        if (r.nextBoolean() || b.length < 8) {
            return b;
        }
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(GgufFile.MAGIC).putInt(Fuzz.oneOf(r, 1, 2, 3, 4));
        return b;
    }

    /** One to four byte edits {@code {position, kind 0..2, byte 0..255}} anywhere in the file. */
    static List<int[]> byteEdits(SplittableRandom r) {
        return Fuzz.listOf(r, 1, 4,
                x -> new int[] {Fuzz.anyInt(x), Fuzz.intBetween(x, 0, 2), Fuzz.intBetween(x, 0, 255)});
    }

    /** Edits inside the header (metadata and tensor entries), where a byte is a count, a length, a type or a shape. */
    static List<int[]> headerEdits(SplittableRandom r) {
        int header = headerLength();
        return Fuzz.listOf(r, 1, 3, x -> new int[] {Fuzz.intBetween(x, 0, header - 1),
                Fuzz.oneOf(x, 0, 0, 0, 0, 1, 2), Fuzz.oneOf(x, 0, 1, 0x7f, 0x80, 0xff, Fuzz.intBetween(x, 0, 255))});
    }

    static int headerLength() {
        try (GgufFile f = GgufFile.open(writeValid())) {
            return (int) f.dataStart();
        }
    }

    private static Path writeValid() {
        Path p = DIR.resolve("header.gguf");
        try {
            Files.write(p, VALID);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
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
}
