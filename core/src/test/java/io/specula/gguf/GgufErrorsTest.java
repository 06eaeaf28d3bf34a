package io.specula.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.specula.SpeculaException;
import io.specula.engine.ModelLoader;
import io.specula.model.ModelFormatException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Broken GGUF files fail at start-up with a {@link ModelFormatException} that names the file and says what was
 * expected: truncated anywhere, a bad magic, an unsupported version, tensor data outside the file, an unsupported
 * tensor type, an unknown architecture, no tokenizer. (GgufFuzzTest covers arbitrary damage.)
 */
class GgufErrorsTest {

    @TempDir
    Path tmp;

    static byte[] valid() {
        return GgufFuzzTest.VALID.clone();
    }

    Path write(String name, byte[] bytes) throws IOException {
        return Files.write(tmp.resolve(name), bytes);
    }

    static GgufWriter validWriter() {
        Path p;
        try {
            p = Files.write(Files.createTempFile("gguf-errors", ".gguf"), valid());
            GgufWriter w = GgufCopy.of(p);
            Files.delete(p);
            return w;
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    Path load(String name, GgufWriter w) {
        Path p = tmp.resolve(name);
        w.write(p);
        return p;
    }

    @Test
    void truncatedFiles() throws IOException {
        byte[] v = valid();
        long dataStart;
        try (GgufFile f = GgufFile.open(write("whole.gguf", v))) {
            dataStart = f.dataStart();
        }
        for (int cut : new int[] {0, 3, 10, 30, 200, (int) dataStart - 1}) {
            Path p = write("cut" + cut + ".gguf", Arrays.copyOf(v, cut));
            assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ModelFormatException.class)
                    .hasMessageStartingWith(p.toString()).hasMessageContaining("truncated");
        }
        Path p = write("data.gguf", Arrays.copyOf(v, v.length - 100));
        assertThatThrownBy(() -> ModelLoader.load(p, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("blk.0.ffn_down.weight").hasMessageContaining("lies outside the file")
                .hasMessageContaining("truncated or corrupt");
    }

    @Test
    void badMagicAndVersions() throws IOException {
        byte[] v = valid();
        v[0] = 'X';
        Path magic = write("magic.gguf", v);
        assertThatThrownBy(() -> ModelLoader.load(magic, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class).hasMessageStartingWith(magic.toString())
                .hasMessageContaining("not a GGUF file").hasMessageContaining("\"GGUF\"");
        for (int version : new int[] {1, 4, 0x03000000}) {
            byte[] b = valid();
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(4, version);
            Path p = write("v" + version + ".gguf", b);
            assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(ModelFormatException.class)
                    .hasMessageContaining("unsupported GGUF version").hasMessageContaining("expected 2 or 3")
                    .hasMessageContaining(version == 1 ? "v1" : version == 4 ? "3" : "big-endian");
        }
    }

    @Test
    void tensorDataOutsideTheFileOrMisaligned() throws IOException {
        // the last tensor's offset moved past the end of the file
        byte[] v = valid();
        int at = offsetField(v, "blk.0.ffn_down.weight");
        ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).putLong(at, 1L << 40);
        Path far = write("far.gguf", v);
        assertThatThrownBy(() -> GgufFile.open(far)).isInstanceOf(ModelFormatException.class)
                .hasMessageContaining("tensor 'blk.0.ffn_down.weight'").hasMessageContaining("lies outside the file");
        byte[] w = valid();
        ByteBuffer.wrap(w).order(ByteOrder.LITTLE_ENDIAN).putLong(offsetField(w, "blk.0.ffn_down.weight"),
                ByteBuffer.wrap(w).order(ByteOrder.LITTLE_ENDIAN).getLong(offsetField(w, "blk.0.ffn_down.weight")) + 4);
        Path misaligned = write("misaligned.gguf", w);
        assertThatThrownBy(() -> GgufFile.open(misaligned)).hasMessageContaining("not a multiple of the alignment 32");
    }

    @Test
    void unsupportedTensorTypesAreNamedAtStartUp() {
        GgufWriter w = validWriter();
        GgufWriter q5k = new GgufWriter();
        w.metadata().forEach(q5k::put);
        // the same file with its ffn_down in Q5_K (a type that needs a minimum per block of 32 with 5 bits)
        try (GgufFile f = GgufFile.open(load("v.gguf", w))) {
            for (GgufFile.Tensor t : f.tensors().values()) {
                ByteBuffer b = ByteBuffer.allocate((int) t.byteSize());
                f.read(t, 0, b);
                if (t.name().equals("blk.0.ffn_down.weight")) {
                    q5k.addRawTensor(t.name(), t.ne(), GgmlType.Q5_K.id, new byte[(int) GgmlType.Q5_K.rowBytes(256) * 32]);
                } else {
                    q5k.addRawTensor(t.name(), t.ne(), t.type().id, b.array());
                }
            }
        }
        Path p = load("q5k.gguf", q5k);
        assertThatThrownBy(() -> ModelLoader.load(p, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("tensor 'blk.0.ffn_down.weight' is Q5_K")
                .hasMessageContaining("llama-quantize");
    }

    @Test
    void unknownArchitectureAndMissingHyperparameters() {
        GgufWriter w = validWriter().putString("general.architecture", "gemma2");
        Path gemma = load("gemma.gguf", w);
        assertThatThrownBy(() -> ModelLoader.load(gemma, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class).hasMessageStartingWith(gemma.toString())
                .hasMessageContaining("architecture 'gemma2' (general.architecture) is not supported")
                .hasMessageContaining("llama").hasMessageContaining("qwen2").hasMessageContaining("qwen3")
                .hasMessageContaining("gemma3").hasMessageContaining("phi3");
        Path noHeads = load("noheads.gguf", validWriter().remove("llama.attention.head_count"));
        assertThatThrownBy(() -> ModelLoader.load(noHeads, "cpu", "auto", "auto"))
                .hasMessageContaining("metadata key 'llama.attention.head_count' is missing");
        Path wrongType = load("wrongtype.gguf", validWriter().putString("llama.embedding_length", "32"));
        assertThatThrownBy(() -> ModelLoader.load(wrongType, "cpu", "auto", "auto"))
                .hasMessageContaining("metadata key 'llama.embedding_length': expected a positive integer, found "
                        + "string 32");
        Path blocks = load("blocks.gguf", validWriter().putUInt32("llama.block_count", 3));
        assertThatThrownBy(() -> ModelLoader.load(blocks, "cpu", "auto", "auto"))
                .hasMessageContaining("'llama.block_count' says 3 layers, but the file has tensors for 1");
        Path yarn = load("yarn.gguf", validWriter().putString("llama.rope.scaling.type", "yarn")
                .putFloat32("llama.rope.scaling.factor", 4));
        assertThatThrownBy(() -> ModelLoader.load(yarn, "cpu", "auto", "auto"))
                .hasMessageContaining("'yarn' RoPE scaling is not supported");
    }

    @Test
    void missingTokenizer() {
        Path p = load("notok.gguf", validWriter().remove("tokenizer.ggml.tokens").remove("tokenizer.ggml.model"));
        assertThatThrownBy(() -> ModelLoader.load(p, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("no tokenizer").hasMessageContaining("tokenizer.json next to the file");
        Path pre = load("pre.gguf", validWriter().putString("tokenizer.ggml.model", "gpt2")
                .putStrings("tokenizer.ggml.merges", java.util.List.of("a b"))
                .putString("tokenizer.ggml.pre", "deepseek-llm"));
        assertThatThrownBy(() -> ModelLoader.load(pre, "cpu", "auto", "auto"))
                .hasMessageContaining("the pre-tokenizer 'deepseek-llm' is not supported");
    }

    @Test
    void pathsThatAreNeitherADirectoryNorAGgufFile() throws IOException {
        Path missing = tmp.resolve("nothing-here");
        assertThatThrownBy(() -> ModelLoader.load(missing, "cpu", "auto", "auto"))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("does not exist")
                .hasMessageContaining(".gguf file").hasMessageContaining("ollama:NAME");
        Path text = Files.writeString(tmp.resolve("notes.txt"), "hello");
        assertThatThrownBy(() -> ModelLoader.load(text, "cpu", "auto", "auto"))
                .isInstanceOf(ModelFormatException.class).hasMessageContaining("not a GGUF file");
        assertThat(GgufFile.isGguf(text)).isFalse();
    }

    /** The position of a tensor entry's u64 offset in the header. */
    static int offsetField(byte[] file, String tensor) {
        byte[] name = tensor.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = 0; i + name.length < file.length; i++) {
            if (Arrays.equals(file, i, i + name.length, name, 0, name.length)) {
                int dims = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getInt(i + name.length);
                return i + name.length + 4 + 8 * dims + 4;
            }
        }
        throw new IllegalArgumentException(tensor);
    }
}
