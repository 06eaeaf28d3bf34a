package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.EngineBusyException;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The engine under load: concurrent requests decode on their own caches (same output as one at a time), the
 * admission queue is bounded in length and in time, the KV cache budget and the max-tokens cap refuse what cannot be
 * served, queued requests can be cancelled, and the heartbeat sees a request that makes no progress.
 */
@Timeout(60)
class ServingUnderLoadTest {

    @TempDir
    static Path tmp;

    static Path target;
    static Path drafter;

    static final List<String> PROMPTS = List.of("The quick brown fox", "Hello, world! How are", "In the forest there",
            "Once upon a time", "A B C D E", "zebra", "Numbers: 1 2 3", "the the the the");

    @BeforeAll
    static void write() {
        target = TinyModelDirs.llama(tmp.resolve("target"), 1);
        drafter = TinyModelDirs.llamaDrafter(tmp.resolve("drafter"), 2);
    }

    static SpeculaEngine engine(String drafterSetting, ServingLimits limits) {
        return SpeculaEngine.load(EngineConfig.of(target, drafterSetting).withLimits(limits));
    }

    static GenerationRequest request(SpeculaEngine engine, String prompt, int maxTokens) {
        return GenerationRequest.of(engine.tokenizer().encode(prompt), maxTokens, SamplingParams.GREEDY);
    }

    /** A listener that holds the decoding thread at its first token until released. */
    static final class Gate implements GenerationListener {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public void onToken(int tokenId, String textDelta, io.specula.generate.TokenSource source) {
            entered.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Test
    void concurrentGreedyOutputsEqualSequentialOnes() throws Exception {
        for (String kernel : List.of("auto", "djl")) {
            try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString())
                    .withKernel(kernel).withLimits(new ServingLimits(4, 64, Duration.ofSeconds(30), 0, 0)))) {
                List<SpeculationSettings> modes = List.of(SpeculationSettings.OFF,
                        new SpeculationSettings(true, 4, DraftPolicy.FIXED), SpeculationSettings.DEFAULT);
                List<int[]> expected = new ArrayList<>();
                for (String p : PROMPTS) {
                    expected.add(engine.generate(request(engine, p, 24), SpeculationSettings.OFF, null).tokenIds());
                }
                ExecutorService pool = Executors.newFixedThreadPool(8);
                try {
                    List<Future<int[]>> futures = new ArrayList<>();
                    List<Integer> which = new ArrayList<>();
                    for (int round = 0; round < 3; round++) {
                        for (int i = 0; i < PROMPTS.size(); i++) {
                            int k = i;
                            SpeculationSettings mode = modes.get((i + round) % modes.size());
                            which.add(k);
                            futures.add(pool.submit(() -> engine.generate(request(engine, PROMPTS.get(k), 24), mode,
                                    null).tokenIds()));
                        }
                    }
                    for (int i = 0; i < futures.size(); i++) {
                        assertThat(futures.get(i).get(30, TimeUnit.SECONDS)).as("%s: %s", kernel,
                                PROMPTS.get(which.get(i))).containsExactly(expected.get(which.get(i)));
                    }
                } finally {
                    pool.shutdownNow();
                }
                ServingStatus status = engine.servingStatus();
                assertThat(status.inFlight()).isZero();
                assertThat(status.queued()).isZero();
                assertThat(status.kvCacheBytesReserved()).isZero();
                assertThat(status.admitted()).isEqualTo(PROMPTS.size() * 4L);
            }
        }
    }

    @Test
    void aFullQueueIsRefusedAtOnceNamingTheLimit() throws Exception {
        try (SpeculaEngine engine = engine(null, new ServingLimits(1, 1, Duration.ofSeconds(30), 0, 0))) {
            Gate gate = new Gate();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<GenerationResult> first = pool.submit(() -> engine.generate(request(engine, "first", 4),
                        SpeculationSettings.OFF, gate));
                assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
                Future<GenerationResult> second = pool.submit(() -> engine.generate(request(engine, "second", 4),
                        SpeculationSettings.OFF, null));
                awaitStatus(engine, s -> s.queued() == 1);
                assertThat(engine.servingStatus().inFlight()).isEqualTo(1);

                assertThatThrownBy(() -> engine.generate(request(engine, "third", 4), SpeculationSettings.OFF, null))
                        .isInstanceOf(EngineBusyException.class)
                        .hasMessageContaining("max-queued-requests=1")
                        .hasMessageContaining("max-concurrent-requests=1")
                        .satisfies(e -> assertThat(((EngineBusyException) e).reason())
                                .isEqualTo(EngineBusyException.Reason.QUEUE_FULL));
                // The cheap early check says the same before a prompt is even rendered.
                assertThatThrownBy(engine::rejectIfSaturated).isInstanceOf(EngineBusyException.class)
                        .hasMessageContaining("max-queued-requests=1");
                gate.release.countDown();
                assertThat(first.get(10, TimeUnit.SECONDS).tokenIds()).hasSize(4);
                assertThat(second.get(10, TimeUnit.SECONDS).tokenIds()).hasSize(4);
                engine.rejectIfSaturated();
                ServingStatus status = engine.servingStatus();
                assertThat(status.rejectedQueueFull()).isEqualTo(2);
                assertThat(status.admitted()).isEqualTo(2);
                assertThat(status.inFlight()).isZero();
            } finally {
                gate.release.countDown();
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aRequestThatWaitsPastTheQueueTimeoutIsRefused() throws Exception {
        try (SpeculaEngine engine = engine(null, new ServingLimits(1, 8, Duration.ofMillis(150), 0, 0))) {
            Gate gate = new Gate();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<GenerationResult> first = pool.submit(() -> engine.generate(request(engine, "first", 4),
                        SpeculationSettings.OFF, gate));
                assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
                long t0 = System.nanoTime();
                assertThatThrownBy(() -> engine.generate(request(engine, "second", 4), SpeculationSettings.OFF, null))
                        .isInstanceOf(EngineBusyException.class).hasMessageContaining("queue-timeout")
                        .satisfies(e -> assertThat(((EngineBusyException) e).reason())
                                .isEqualTo(EngineBusyException.Reason.QUEUE_TIMEOUT));
                assertThat(Duration.ofNanos(System.nanoTime() - t0)).isBetween(Duration.ofMillis(140),
                        Duration.ofSeconds(5));
                assertThat(engine.servingStatus().queued()).isZero();
                gate.release.countDown();
                assertThat(first.get(10, TimeUnit.SECONDS).finishReason()).isEqualTo(FinishReason.LENGTH);
                assertThat(engine.servingStatus().rejectedQueueTimeout()).isEqualTo(1);
            } finally {
                gate.release.countDown();
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aQueuedRequestCancelledByItsClientLeavesTheQueueWithoutRunning() throws Exception {
        try (SpeculaEngine engine = engine(null, new ServingLimits(1, 8, Duration.ofSeconds(30), 0, 0))) {
            Gate gate = new Gate();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                pool.submit(() -> engine.generate(request(engine, "first", 4), SpeculationSettings.OFF, gate));
                assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
                AtomicBoolean cancelled = new AtomicBoolean();
                GenerationRequest queued = request(engine, "second", 4).withCancelled(cancelled::get);
                Future<GenerationResult> second = pool.submit(() -> engine.generate(queued, SpeculationSettings.OFF,
                        null));
                awaitStatus(engine, s -> s.queued() == 1);
                cancelled.set(true);
                GenerationResult r = second.get(5, TimeUnit.SECONDS);
                assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
                assertThat(r.tokenIds()).isEmpty();
                assertThat(engine.servingStatus().queued()).isZero();
                assertThat(engine.servingStatus().cancelledWhileQueued()).isEqualTo(1);
                // Counted as a cancelled request (the first is still running).
                assertThat(engine.statistics().requests()).isEqualTo(1);
            } finally {
                gate.release.countDown();
                pool.shutdownNow();
            }
        }
    }

    @Test
    void theKvCacheBudgetRefusesWhatCannotFitAndQueuesWhatCannotFitBesideTheOthers() throws Exception {
        SpeculationSettings off = SpeculationSettings.OFF;
        long oneRequest;
        try (SpeculaEngine probe = engine(null, ServingLimits.DEFAULT)) {
            oneRequest = probe.kvCacheBytes(request(probe, "first", 8).promptIds().length, 8, off);
        }
        // Room for one request of 8 tokens (plus a little), not two; 4 slots.
        try (SpeculaEngine engine = engine(null, new ServingLimits(4, 8, Duration.ofSeconds(30),
                oneRequest + oneRequest / 2, 0))) {
            assertThatThrownBy(() -> engine.generate(request(engine, "first", 200), off, null))
                    .isInstanceOf(SpeculaException.class).isNotInstanceOf(EngineBusyException.class)
                    .hasMessageContaining("kv-cache-budget").hasMessageContaining("KV cache needs");
            assertThat(engine.servingStatus().rejectedKvCacheBudget()).isEqualTo(1);

            Gate gate = new Gate();
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                Future<GenerationResult> first = pool.submit(() -> engine.generate(request(engine, "first", 8), off,
                        gate));
                assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
                assertThat(engine.servingStatus().kvCacheBytesReserved()).isEqualTo(oneRequest);
                Future<GenerationResult> second = pool.submit(() -> engine.generate(request(engine, "other", 8), off,
                        null));
                awaitStatus(engine, s -> s.queued() == 1);
                assertThat(engine.servingStatus().inFlight()).isEqualTo(1);
                gate.release.countDown();
                assertThat(first.get(10, TimeUnit.SECONDS).tokenIds()).hasSize(8);
                assertThat(second.get(10, TimeUnit.SECONDS).tokenIds()).hasSize(8);
                assertThat(engine.servingStatus().kvCacheBytesReserved()).isZero();
            } finally {
                gate.release.countDown();
                pool.shutdownNow();
            }
        }
    }

    @Test
    void maxTokensOverTheCapIsRefusedNamingTheCap() {
        try (SpeculaEngine engine = engine(null, new ServingLimits(4, 8, Duration.ofSeconds(1), 0, 16))) {
            assertThatThrownBy(() -> engine.generate(request(engine, "x", 17), SpeculationSettings.OFF, null))
                    .isInstanceOf(SpeculaException.class).hasMessageContaining("maxTokens")
                    .hasMessageContaining("max-tokens-cap").hasMessageContaining("16");
            assertThat(engine.generate(request(engine, "x", 16), SpeculationSettings.OFF, null).tokenIds())
                    .hasSizeLessThanOrEqualTo(16);
        }
    }

    @Test
    void theHeartbeatSeesARequestThatMakesNoProgress() throws Exception {
        try (SpeculaEngine engine = engine("ngram", new ServingLimits(2, 8, Duration.ofSeconds(30), 0, 0))) {
            assertThat(engine.servingStatus().longestStallNanos()).isZero();
            Gate gate = new Gate();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<GenerationResult> stuck = pool.submit(() -> engine.generate(request(engine, "first", 4),
                        SpeculationSettings.DEFAULT, gate));
                assertThat(gate.entered.await(10, TimeUnit.SECONDS)).isTrue();
                Thread.sleep(120);
                assertThat(engine.servingStatus().longestStallNanos()).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(100));
                gate.release.countDown();
                stuck.get(10, TimeUnit.SECONDS);
                assertThat(engine.servingStatus().longestStallNanos()).isZero();
            } finally {
                gate.release.countDown();
                pool.shutdownNow();
            }
        }
    }

    @Test
    void aClosedEngineRefusesRequests() {
        SpeculaEngine engine = engine(null, ServingLimits.DEFAULT);
        GenerationRequest r = request(engine, "x", 2);
        engine.close();
        assertThat(engine.servingStatus().closed()).isTrue();
        assertThatThrownBy(() -> engine.generate(r, SpeculationSettings.OFF, null))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("closed");
    }

    @Test
    void badLimitsAreClearErrors() {
        assertThatThrownBy(() -> new ServingLimits(0, 1, Duration.ZERO, 0, 0)).hasMessageContaining("maxConcurrentRequests");
        assertThatThrownBy(() -> new ServingLimits(1, -1, Duration.ZERO, 0, 0)).hasMessageContaining("maxQueuedRequests");
        assertThatThrownBy(() -> new ServingLimits(1, 1, Duration.ofSeconds(-1), 0, 0)).hasMessageContaining("queueTimeout");
        assertThatThrownBy(() -> new ServingLimits(1, 1, Duration.ZERO, -1, 0)).hasMessageContaining("kvCacheBudget");
        assertThatThrownBy(() -> new ServingLimits(1, 1, Duration.ZERO, 0, -1)).hasMessageContaining("maxTokensCap");
    }

    static void awaitStatus(SpeculaEngine engine, java.util.function.Predicate<ServingStatus> condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.test(engine.servingStatus())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("status never reached: " + engine.servingStatus());
            }
            Thread.sleep(5);
        }
    }
}
