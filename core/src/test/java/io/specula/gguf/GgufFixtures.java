package io.specula.gguf;

import io.specula.gguf.GgufWriter.TensorType;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The quantized GGUF fixtures committed under {@code core/src/test/resources/gguf/}, made by
 * {@code scripts/make-gguf-fixtures.sh}: each is a tiny seeded model of the tests ({@link TinyModelDirs}), exported to
 * an F32 GGUF by {@link GgufExporter} ({@link #main} writes those), then quantized by llama.cpp's own
 * {@code llama-quantize}. The script also records, next to each file, llama.cpp's greedy ids on {@link #PROMPTS}
 * (with its top-2 log-probability gap per step) and gguf-py's dequantized values of every tensor (as SHA-256 of the
 * float32 bytes): {@code NAME.llamacpp.json}. See docs/testing.md.
 *
 * <p>Dimensions: Q4_K and Q6_K blocks are 256 wide, so the Q4_K_M fixture has a hidden size of 256; in the 64-wide
 * ones, llama-quantize falls back to its substitutes (Q5_0 for Q4_K, Q8_0 for Q6_K), which is what gives the
 * Q5_0 fixture.
 */
public final class GgufFixtures {

    /**
     * One fixture: the tiny model, llama-quantize's type, and whether java-llama.cpp 4.2.0 (llama.cpp b4916) can run
     * its architecture.
     */
    public record Fixture(String name, Family family, TokenizerKind tokenizer, ChatTemplateKind template,
                          UnaryOperator<TinyModels.Spec> spec, String quantizeType, boolean javaLlamaCpp) {

        /** The committed quantized file. */
        public Path file() {
            return resource(name + ".gguf");
        }

        /** llama.cpp's greedy ids and gguf-py's tensor hashes for it. */
        public Path llamaCppResults() {
            return resource(name + ".llamacpp.json");
        }
    }

    public static final List<Fixture> ALL = List.of(
            // Q8_0 everywhere (a tied Qwen2: biases, embedding = output head)
            new Fixture("qwen2-q8_0", Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN,
                    s -> s.tied(true).seed(101), "Q8_0", true),
            // Q4_0 layers and embedding; the output head wants Q6_K, which a 64-wide row cannot hold: Q8_0
            new Fixture("llama-q4_0", Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE,
                    s -> s.seed(102), "Q4_0", true),
            // Q4_K_M on 64-wide rows: llama-quantize's substitutes Q5_0 (for Q4_K) and Q8_0 (for Q6_K)
            new Fixture("qwen3-q4_k_m-64", Family.QWEN3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN,
                    s -> s.seed(103), "Q4_K_M", false),
            // the real thing: Q4_K layers and embedding, Q6_K for v, down and the output head; rope_freqs
            new Fixture("llama3-q4_k_m", Family.LLAMA3, TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.LLAMA3,
                    s -> s.hiddenSize(256).heads(4).kvHeads(1).intermediateSize(256).layers(1).seed(104), "Q4_K_M",
                    true));

    /** Prompt ids of the recorded greedy runs (no BOS), taken modulo the vocabulary size. */
    public static final int[][] PROMPTS = {{17, 101, 42, 250, 8, 199}, {3, 77, 5, 140, 61}};
    /** Tokens generated per prompt in the recorded runs. */
    public static final int TOKENS = 32;

    private GgufFixtures() {
    }

    public static Fixture byName(String name) {
        return ALL.stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no GGUF fixture " + name));
    }

    /** Writes the fixture's model directory (safetensors) into {@code dir}. */
    public static Path writeModel(Fixture f, Path dir) {
        return TinyModelDirs.write(dir, f.family(), f.tokenizer(), f.template(), f.spec());
    }

    /**
     * Writes {@code out}: {@code in} with the id vocabulary ({@link LlamaCpp#useIdVocabulary}), so that llama.cpp
     * reports a probability for every generated token (its server skips tokens that are not whole UTF-8 text); prints
     * the ids to ban (llama.cpp's end-of-generation tokens of the real vocabulary) as a JSON array.
     */
    static void idVocabularyCopy(Path in, Path out) {
        List<Integer> eog;
        try (GgufFile f = GgufFile.open(in)) {
            eog = GgufTokenizer.endOfGeneration(f);
        }
        GgufWriter w = GgufCopy.of(in);
        LlamaCpp.useIdVocabulary(w);
        w.write(out);
        System.out.println(eog);
    }

    static Path resource(String name) {
        URL url = GgufFixtures.class.getResource("/gguf/" + name);
        if (url == null) {
            throw new IllegalStateException("test resource gguf/" + name + " is missing: run "
                    + "scripts/make-gguf-fixtures.sh");
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Writes, for each fixture, {@code WORK/NAME/} (the model directory) and {@code WORK/NAME-f32.gguf}, and prints
     * {@code NAME TYPE JAVA_LLAMA_CPP} lines for the script.
     */
    public static void main(String[] args) throws IOException {
        if (args.length == 3 && args[0].equals("ids")) {
            idVocabularyCopy(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: GgufFixtures WORK_DIR | GgufFixtures ids IN.gguf OUT.gguf");
        }
        Path work = Path.of(args[0]);
        Files.createDirectories(work);
        for (Fixture f : ALL) {
            Path dir = work.resolve(f.name());
            if (Files.exists(dir)) {
                try (var files = Files.list(dir)) {
                    for (Path p : files.toList()) {
                        Files.delete(p);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            writeModel(f, dir);
            GgufExporter.export(dir, work.resolve(f.name() + "-f32.gguf"), TensorType.F32);
            System.out.println(f.name() + " " + f.quantizeType() + " " + f.javaLlamaCpp());
        }
    }
}
