package io.specula.chat;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

import io.specula.engine.EngineConfig;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.Disposable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Requests that stop being wanted stop costing (issue 19): the cancel of a {@link SpeculaChatModel} request reaches
 * the engine before its next decoding step, for {@code call()} (the caller's thread is interrupted: Spring AI's
 * blocking call has no other cancel signal) and for {@code stream()} (the subscription is disposed), plain and
 * speculative, on a real tiny target and drafter.
 *
 * <p>How "within one step" is made exact: a listener holds the decoding thread at the end of its 5th step (a step
 * "under way"), the test cancels while it is held and then lets it go. The engine may finish the step under way but
 * must not start another: the number of steps after the cancel must be 0, where an uncancelled request of 200 tokens
 * would take dozens more. The request then ends as {@code cancelled} and gives its place and its KV cache back.
 */
@Timeout(120)
class CancellationReachesTheEngineTest {

    @TempDir
    static Path tmp;

    static SpeculaEngine engine;

    static Scheduler scheduler;

    /** Steps of the current request. */
    static final AtomicInteger steps = new AtomicInteger();

    /** True while the decoding thread is held at the end of the step the test cancels in. */
    static final AtomicBoolean held = new AtomicBoolean();

    static final AtomicBoolean release = new AtomicBoolean();

    static volatile CompletableFuture<FinishReason> finished = new CompletableFuture<>();

    static final int CANCEL_AT_STEP = 5;

    @BeforeAll
    static void load() {
        Path target = TinyModelDirs.llama(tmp.resolve("target"), 5);
        Path drafter = TinyModelDirs.llamaDrafter(tmp.resolve("drafter"), 6);
        engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()));
        scheduler = Schedulers.newBoundedElastic(2, 100, "cancellation");
        engine.addDecodingListener(new DecodingListener() {
            @Override
            public void onStep(StepEvent step) {
                if (steps.incrementAndGet() == CANCEL_AT_STEP) {
                    held.set(true);
                    // Not interruptible on purpose: call()'s cancel is an interrupt of this very thread, and the flag
                    // must stay set for the engine to see it.
                    while (!release.get()) {
                        LockSupport.parkNanos(1_000_000);
                    }
                    held.set(false);
                }
            }

            @Override
            public void onRequestFinished(DecodingStats stats, FinishReason reason) {
                finished.complete(reason);
            }
        });
    }

    @AfterAll
    static void close() {
        scheduler.dispose();
        engine.close();
    }

    static Prompt prompt(boolean speculative) {
        return new Prompt("Once upon a time", SpeculaChatOptions.builder()
            .temperature(0.0)
            .maxTokens(200)
            .speculative(speculative)
            .build());
    }

    static void reset() {
        steps.set(0);
        held.set(false);
        release.set(false);
        finished = new CompletableFuture<>();
    }

    static void awaitHeld() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!held.get()) {
            assertThat(System.nanoTime()).as("the request reaches step %d", CANCEL_AT_STEP).isLessThan(deadline);
            Thread.sleep(1);
        }
    }

    /** After the cancel: no further step, the request ends as cancelled, and the engine holds nothing for it. */
    static void assertStoppedAtOnce(String what) throws Exception {
        assertThat(finished.get(60, TimeUnit.SECONDS)).as(what).isEqualTo(FinishReason.CANCELLED);
        assertThat(steps.get()).as("%s: steps taken after the cancel", what).isEqualTo(CANCEL_AT_STEP);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (engine.servingStatus().inFlight() != 0) {
            assertThat(System.nanoTime()).as("%s: %s", what, engine.servingStatus()).isLessThan(deadline);
            Thread.sleep(1);
        }
        assertThat(engine.servingStatus().kvCacheBytesReserved()).as(what).isZero();
    }

    @ParameterizedTest(name = "speculative {0}")
    @ValueSource(booleans = { false, true })
    void anInterruptedCallStopsBeforeTheNextStep(boolean speculative) throws Exception {
        reset();
        SpeculaChatModel model = SpeculaChatModel.builder().engine(engine).scheduler(scheduler).build();
        AtomicReference<ChatResponse> response = new AtomicReference<>();
        AtomicReference<Throwable> error = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                response.set(model.call(prompt(speculative)));
            }
            catch (Throwable ex) {
                error.set(ex);
            }
        }, "caller");
        caller.start();
        awaitHeld();
        caller.interrupt();
        release.set(true);
        caller.join(TimeUnit.SECONDS.toMillis(60));
        assertThat(caller.isAlive()).isFalse();
        assertStoppedAtOnce("call, speculative " + speculative);
        assertThat(error.get()).isNull();
        assertThat(response.get().getResult().getMetadata().getFinishReason()).isEqualToIgnoringCase("cancelled");
    }

    @ParameterizedTest(name = "speculative {0}")
    @ValueSource(booleans = { false, true })
    void aDisposedStreamStopsBeforeTheNextStep(boolean speculative) throws Exception {
        reset();
        SpeculaChatModel model = SpeculaChatModel.builder().engine(engine).scheduler(scheduler).build();
        AtomicInteger chunks = new AtomicInteger();
        Disposable subscription = model.stream(prompt(speculative)).subscribe(chunk -> chunks.incrementAndGet());
        awaitHeld();
        subscription.dispose();
        release.set(true);
        assertStoppedAtOnce("stream, speculative " + speculative);
        assertThat(chunks.get()).as("chunks before the cancel").isPositive();
    }
}
