package io.specula.engine;

import static io.specula.ProcessMemory.rssBytes;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import static io.specula.ProcessMemory.usedHeapAfterGc;

import io.specula.generate.FinishReason;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.model.llama.DjlLlamaModel;
import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a request leaves behind: nothing. A cancelled stream stops within one step and gives its KV cache back (native
 * tensors on the DJL path are freed at once), and thousands of small requests, a third of them cancelled, leave the
 * heap, the process's resident memory and DJL's live tensor count where they were.
 */
@Timeout(120)
class ResourceReleaseTest {

    @TempDir
    static Path tmp;

    static Path target;
    static Path drafter;

    @BeforeAll
    static void write() {
        target = TinyModelDirs.llama(tmp.resolve("target"), 1);
        drafter = TinyModelDirs.llamaDrafter(tmp.resolve("drafter"), 2);
    }

    static SpeculaEngine load(String kernel) {
        return SpeculaEngine.load(EngineConfig.of(target, drafter.toString()).withKernel(kernel)
                .withLimits(new ServingLimits(4, 64, Duration.ofSeconds(30), 0, 0)));
    }

    static int liveArrays(SpeculaEngine engine) {
        return ((DjlLlamaModel) engine.target().model()).liveArrays()
                + ((DjlLlamaModel) engine.drafterModel().model()).liveArrays();
    }

    /** Cancels after {@code after} streamed tokens, as a client going away mid-stream. */
    static GenerationResult cancelledAfter(SpeculaEngine engine, String prompt, int after, SpeculationSettings mode,
                                           AtomicInteger tokensAfterCancel) {
        AtomicBoolean cancelled = new AtomicBoolean();
        AtomicInteger seen = new AtomicInteger();
        GenerationRequest request = new GenerationRequest(engine.tokenizer().encode(prompt), 200,
                SamplingParams.GREEDY, List.of(), List.of(), cancelled::get);
        GenerationListener listener = (id, delta, source) -> {
            if (id < 0) {
                return;
            }
            if (cancelled.get()) {
                tokensAfterCancel.incrementAndGet();
            }
            if (seen.incrementAndGet() == after) {
                cancelled.set(true);
            }
        };
        return engine.generate(request, mode, listener);
    }

    @Test
    void aCancelledStreamStopsWithinOneStepAndFreesItsCaches() {
        for (String kernel : List.of("auto", "djl")) {
            try (SpeculaEngine engine = load(kernel)) {
                boolean djl = kernel.equals("djl");
                int before = djl ? liveArrays(engine) : 0;
                for (SpeculationSettings mode : List.of(SpeculationSettings.OFF,
                        new SpeculationSettings(true, 4, DraftPolicy.FIXED))) {
                    AtomicInteger late = new AtomicInteger();
                    GenerationResult r = cancelledAfter(engine, "The quick brown fox", 5, mode, late);
                    assertThat(r.finishReason()).as(kernel).isEqualTo(FinishReason.CANCELLED);
                    // One step may still hand over the rest of an accepted draft (at most γ + 1 tokens).
                    assertThat(late.get()).as("tokens after the cancel").isLessThanOrEqualTo(mode.enabled() ? 4 : 0);
                    assertThat(r.tokenIds().length).isLessThan(5 + 5);
                    ServingStatus status = engine.servingStatus();
                    assertThat(status.inFlight()).isZero();
                    assertThat(status.kvCacheBytesReserved()).isZero();
                    if (djl) {
                        assertThat(liveArrays(engine)).as("DJL arrays after a cancelled request").isEqualTo(before);
                    }
                }
            }
        }
    }

    @Test
    void thousandsOfSmallRequestsLeaveMemoryWhereItWas() throws Exception {
        for (String kernel : List.of("auto", "djl")) {
            // The DJL path is slower per request; its exact check is the live tensor count.
            int requests = kernel.equals("djl") ? 1000 : 2000;
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try (SpeculaEngine engine = load(kernel)) {
                boolean djl = kernel.equals("djl");
                run(engine, pool, requests / 2);   // warm up: JIT, thread pools, allocator caches
                long heap0 = usedHeapAfterGc();
                long rss0 = rssBytes();
                int arrays0 = djl ? liveArrays(engine) : 0;
                long t0 = System.nanoTime();
                run(engine, pool, requests);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                long heap1 = usedHeapAfterGc();
                long rss1 = rssBytes();
                System.out.printf("%s: %d requests in %d ms; heap %d -> %d KiB; RSS %d -> %d MiB%n", kernel, requests,
                        ms, heap0 >> 10, heap1 >> 10, rss0 >> 20, rss1 >> 20);
                assertThat(heap1 - heap0).as("heap growth").isLessThan(8L << 20);
                if (rss0 > 0) {
                    // libtorch's and glibc's allocators keep freed native memory around (RSS drifts by tens
                    // of MiB before it levels off): the heap and the live tensor count are the exact checks, RSS
                    // only catches a gross leak outside the heap. The Java heap itself must not move RSS, so core's
                    // test JVM starts with a 1 GiB heap touched in advance (core/pom.xml): without that, this class
                    // run alone in a fresh JVM saw G1 grow its heap from 68 to 224 MiB during the run (native memory
                    // tracking) and RSS rise by 60-170 MiB with it, while the heap in use after GC stayed at 12 MiB.
                    assertThat(rss1 - rss0).as("RSS growth").isLessThan((djl ? 160L : 96L) << 20);
                }
                if (djl) {
                    assertThat(liveArrays(engine)).as("live DJL arrays").isEqualTo(arrays0);
                }
                ServingStatus status = engine.servingStatus();
                assertThat(status.inFlight()).isZero();
                assertThat(status.kvCacheBytesReserved()).isZero();
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /** {@code n} requests of a few tokens on 4 threads; every third one cancelled after its first token. */
    private static void run(SpeculaEngine engine, ExecutorService pool, int n) throws Exception {
        {
            List<String> prompts = List.of("The quick brown fox", "Hello", "In the forest there", "A B C");
            List<SpeculationSettings> modes = List.of(SpeculationSettings.OFF,
                    new SpeculationSettings(true, 3, DraftPolicy.FIXED), SpeculationSettings.DEFAULT);
            java.util.ArrayList<Future<?>> futures = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                int k = i;
                futures.add(pool.submit(() -> {
                    String prompt = prompts.get(k % prompts.size());
                    SpeculationSettings mode = modes.get(k % modes.size());
                    if (k % 3 == 2) {
                        return cancelledAfter(engine, prompt, 1, mode, new AtomicInteger());
                    }
                    return engine.generate(GenerationRequest.of(engine.tokenizer().encode(prompt), 4,
                            SamplingParams.GREEDY), mode, null);
                }));
            }
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        }
    }
}
