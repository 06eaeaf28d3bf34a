package io.specula.engine;

import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.model.KvCache;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.model.llama.LlamaModel;
import io.specula.speculative.SpeculationSettings;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Memory bounded by the configuration (issue 19, item 8), on a tiny Mistral-style model whose config claims a context
 * of 1 M positions (max_position_embeddings = 1048576; a sliding window of 128 keeps attention cheap, so a 30 k-token
 * prompt runs in seconds on two cores): the RoPE tables follow the configured context (32 k), the prompt is prefilled in
 * chunks (on DJL, where one pass of 23 k tokens overflows the attention mask's size), and a request reserves its KV
 * caches plus one chunk's working memory. A child JVM with a 64 MB heap serves the 30 k-token prompt in a 32 k context.
 */
@Timeout(600)
class MemoryBoundsTest {

    static final int HUGE_CONTEXT = 1 << 20;

    static final int CONTEXT = 32_768;

    @TempDir
    static Path tmp;

    static Path model;

    /** The same with 32 query heads per key head, so one pass's mask overflows past 8.2 k tokens (not 23 k). */
    static Path wide;

    @BeforeAll
    static void write() {
        model = TinyModelDirs.write(tmp.resolve("long"), TinyModels.Family.MISTRAL, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                ChatTemplateKind.NONE, s -> s.seed(21).hiddenSize(64).heads(8).kvHeads(2).intermediateSize(128)
                    .maxPositions(HUGE_CONTEXT).slidingWindow(128));
        wide = TinyModelDirs.write(tmp.resolve("wide"), TinyModels.Family.MISTRAL, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                ChatTemplateKind.NONE, s -> s.seed(22).hiddenSize(64).heads(32).kvHeads(1).intermediateSize(128)
                    .maxPositions(HUGE_CONTEXT).slidingWindow(128));
    }

    static EngineConfig config(String kernel, int chunk) {
        return config(model, kernel, chunk);
    }

    static EngineConfig config(Path dir, String kernel, int chunk) {
        ServingLimits limits = new ServingLimits(2, 4, Duration.ofSeconds(30), 0, 0).withPrefillChunkTokens(chunk);
        return new EngineConfig(dir, null, "cpu", "auto", CONTEXT, kernel, limits, false);
    }

    static int[] prompt(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = 3 + (i * 7919) % 200;
        }
        return p;
    }

    @Test
    void ropeTablesFollowTheConfiguredContext() {
        try (SpeculaEngine engine = SpeculaEngine.load(config("auto", 512))) {
            assertThat(engine.target().config().maxPositionEmbeddings()).isEqualTo(HUGE_CONTEXT);
            assertThat(((LlamaModel) engine.target().model()).maxPositions()).isEqualTo(CONTEXT);
            assertThat(engine.info().contextLength()).isEqualTo(CONTEXT);
        }
        try (SpeculaEngine engine = SpeculaEngine.load(config("djl", 512))) {
            assertThat(((DjlLlamaModel) engine.target().model()).maxPositions()).isEqualTo(CONTEXT);
        }
    }

    @Test
    void aRequestReservesItsCachesAndOneChunksWorkingMemory() {
        try (SpeculaEngine engine = SpeculaEngine.load(config("auto", 512))) {
            long perPosition = SpeculaEngine.kvBytesPerPosition(engine.target());
            long chunkWork = ForwardMemory.passBytes(engine.target(), 512, CONTEXT);
            // A 30 k-token prompt with the rest of the context as its token limit: the whole context of KV cache,
            // and one chunk's working memory, not the prompt's.
            assertThat(engine.kvCacheBytes(30_000, CONTEXT - 30_000, SpeculationSettings.OFF))
                .isEqualTo(CONTEXT * perPosition + chunkWork);
            // A short request reserves what it needs: its prompt, its token limit and a pass of its prompt.
            assertThat(engine.kvCacheBytes(100, 28, SpeculationSettings.OFF))
                .isEqualTo(128 * perPosition + ForwardMemory.passBytes(engine.target(), 100, 128));
            // One pass of the whole prompt would have needed 30 k / 512 times the working memory.
            assertThat(ForwardMemory.passBytes(engine.target(), 30_000, CONTEXT)).isGreaterThan(50 * chunkWork);
        }
    }

    /**
     * One DJL pass builds a causal mask of group x n x keys floats: with 4 query heads per key head that passes
     * Integer.MAX_VALUE near 23 k tokens (the overflow). The model here has 32 per key head, so the same
     * overflow comes at 8.2 k tokens and the test runs the chunked prompt in seconds rather than a minute on two busy
     * cores; the chunking logic is the same.
     */
    @Test
    void aLongPromptOnDjlIsPrefilledInChunksPastTheMaskOverflow() {
        int n = 8_200; // 32 x n x n > Integer.MAX_VALUE
        int[] p = prompt(n);
        try (SpeculaEngine djl = SpeculaEngine.load(config(wide, "djl", 256));
             SpeculaEngine java = SpeculaEngine.load(config(wide, "auto", 256))) {
            // The model alone, in one pass: the mask's size overflows.
            try (KvCache cache = djl.target().model().newCache(n + 8)) {
                assertThatThrownBy(() -> djl.target().model().forward(p, cache, 1))
                    .isInstanceOf(NegativeArraySizeException.class);
            }
            GenerationResult chunked = djl.generate(GenerationRequest.of(p, 6, SamplingParams.GREEDY),
                    SpeculationSettings.OFF, null);
            assertThat(chunked.tokenIds()).hasSize(6);
            GenerationResult reference = java.generate(GenerationRequest.of(p, 6, SamplingParams.GREEDY),
                    SpeculationSettings.OFF, null);
            assertThat(chunked.tokenIds()).containsExactly(reference.tokenIds());
        }
    }

    @Test
    void a32kContextServesAThirtyThousandTokenPromptInASmallHeap() throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Dai.djl.offline=true", "-Xmx64m",
                "-XX:+ExitOnOutOfMemoryError", "-cp", System.getProperty("java.class.path"),
                SmallHeapMain.class.getName(), model.toString(), Integer.toString(CONTEXT), "30000", "512"));
        Path log = tmp.resolve("small-heap.log");
        Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertThat(process.waitFor(300, TimeUnit.SECONDS)).isTrue();
        String output = read(log);
        assertThat(process.exitValue()).as(output).isZero();
        assertThat(output).contains("tokens [").doesNotContain("OutOfMemoryError");
    }

    static String read(Path log) throws IOException {
        return Files.readString(log, StandardCharsets.UTF_8);
    }
}
