package io.specula.chat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.specula.EngineBusyException;
import io.specula.engine.EngineConfig;
import io.specula.engine.ServingLimits;
import io.specula.engine.ServingStatus;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingListener;
import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Streams go through the engine's admission before they take a scheduler thread (issue 19, item 2): a flood of
 * streams past the scheduler's pool is refused at once beyond the queue, queued streams wait without a thread and fail
 * at the queue timeout, and a queued stream that is cancelled leaves the queue. Real tiny model; the one request in
 * flight is held at its first decoding step by a listener.
 */
@Timeout(120)
class StreamAdmissionTest {

    @TempDir
    static Path tmp;

    static Path target;

    final List<AutoCloseable> toClose = new ArrayList<>();

    /** Holds every decoding thread at its first step until released. */
    final CountDownLatch release = new CountDownLatch(1);

    @BeforeAll
    static void write() {
        target = TinyModelDirs.llama(tmp.resolve("target"), 3);
    }

    @AfterEach
    void closeAll() throws Exception {
        this.release.countDown();
        for (AutoCloseable c : this.toClose) {
            c.close();
        }
    }

    SpeculaEngine engine(ServingLimits limits) {
        SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, (String) null).withLimits(limits));
        this.toClose.add(engine);
        engine.addDecodingListener(new DecodingListener() {
            @Override
            public void onStep(StepEvent step) {
                try {
                    StreamAdmissionTest.this.release.await(60, TimeUnit.SECONDS);
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        return engine;
    }

    /** A scheduler of {@code threads} threads: the pool the flood goes past. */
    Scheduler pool(int threads) {
        Scheduler scheduler = Schedulers.newBoundedElastic(threads, 10_000, "stream-pool");
        this.toClose.add(scheduler::dispose);
        return scheduler;
    }

    static Prompt prompt(int i) {
        return new Prompt("Once upon a time " + i,
                SpeculaChatOptions.builder().temperature(0.0).maxTokens(4).speculative(false).build());
    }

    /** One subscribed stream: its chunks, and how it ended. */
    static final class Subscriber {
        final List<ChatResponse> chunks = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicReference<Throwable> error = new AtomicReference<>();
        final CountDownLatch done = new CountDownLatch(1);
        Disposable subscription;

        Subscriber(SpeculaChatModel model, Prompt prompt) {
            this.subscription = model.stream(prompt).subscribe(this.chunks::add, e -> {
                this.error.set(e);
                this.done.countDown();
            }, this.done::countDown);
        }

        EngineBusyException.Reason busy() {
            return this.error.get() instanceof EngineBusyException b ? b.reason() : null;
        }
    }

    @Test
    void aFloodOfStreamsPastThePoolIsRefusedBeyondTheQueueAtOnce() throws Exception {
        SpeculaEngine engine = engine(new ServingLimits(1, 4, Duration.ofSeconds(60), 0, 0));
        SpeculaChatModel model = SpeculaChatModel.builder().engine(engine).scheduler(pool(2)).build();
        List<Subscriber> streams = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            streams.add(new Subscriber(model, prompt(i)));
        }
        // 1 decoding (held), 4 queued, the other 35 refused when they subscribed: none waits behind the 2 threads.
        awaitStatus(engine, s -> s.inFlight() == 1 && s.queued() == 4);
        long refused = streams.stream().filter(s -> s.busy() == EngineBusyException.Reason.QUEUE_FULL).count();
        assertThat(refused).isEqualTo(35);
        assertThat(engine.servingStatus().rejectedQueueFull()).isEqualTo(35);

        this.release.countDown();
        for (Subscriber s : streams) {
            assertThat(s.done.await(60, TimeUnit.SECONDS)).isTrue();
        }
        List<Subscriber> served = streams.stream().filter(s -> s.error.get() == null).toList();
        assertThat(served).hasSize(5);
        for (Subscriber s : served) {
            assertThat(s.chunks).isNotEmpty();
            assertThat(s.chunks.get(s.chunks.size() - 1).getResult().getMetadata().getFinishReason())
                .isEqualTo("LENGTH");
        }
        ServingStatus after = engine.servingStatus();
        assertThat(after.inFlight()).isZero();
        assertThat(after.queued()).isZero();
        assertThat(after.admitted()).isEqualTo(5);
    }

    @Test
    void queuedStreamsHoldNoThreadAndFailAtTheQueueTimeout() throws Exception {
        SpeculaEngine engine = engine(new ServingLimits(1, 8, Duration.ofMillis(300), 0, 0));
        // One thread, taken by the stream in flight: the queued ones must time out without one.
        SpeculaChatModel model = SpeculaChatModel.builder().engine(engine).scheduler(pool(1)).build();
        Subscriber first = new Subscriber(model, prompt(0));
        awaitStatus(engine, s -> s.inFlight() == 1);
        List<Subscriber> queued = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int i = 1; i <= 8; i++) {
            queued.add(new Subscriber(model, prompt(i)));
        }
        for (Subscriber s : queued) {
            assertThat(s.done.await(10, TimeUnit.SECONDS)).as("a queued stream ended").isTrue();
            assertThat(s.busy()).isEqualTo(EngineBusyException.Reason.QUEUE_TIMEOUT);
            assertThat(s.error.get()).hasMessageContaining("queue-timeout");
        }
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(10));
        assertThat(engine.servingStatus().rejectedQueueTimeout()).isEqualTo(8);
        assertThat(engine.servingStatus().queued()).isZero();
        this.release.countDown();
        assertThat(first.done.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(first.error.get()).isNull();
    }

    @Test
    void aCancelledQueuedStreamLeavesTheQueue() throws Exception {
        SpeculaEngine engine = engine(new ServingLimits(1, 8, Duration.ofSeconds(60), 0, 0));
        SpeculaChatModel model = SpeculaChatModel.builder().engine(engine).scheduler(pool(1)).build();
        Subscriber first = new Subscriber(model, prompt(0));
        awaitStatus(engine, s -> s.inFlight() == 1);
        Subscriber second = new Subscriber(model, prompt(1));
        awaitStatus(engine, s -> s.queued() == 1);
        second.subscription.dispose();
        awaitStatus(engine, s -> s.queued() == 0);
        assertThat(engine.servingStatus().cancelledWhileQueued()).isEqualTo(1);
        this.release.countDown();
        assertThat(first.done.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(engine.servingStatus().admitted()).isEqualTo(1);
    }

    static void awaitStatus(SpeculaEngine engine, java.util.function.Predicate<ServingStatus> condition)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.test(engine.servingStatus())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("status never reached: " + engine.servingStatus());
            }
            Thread.sleep(5);
        }
    }
}
