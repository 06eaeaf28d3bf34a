package io.specula.chat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.specula.SpeculaException;
import io.specula.engine.EngineConfig;
import io.specula.engine.ServingLimits;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

import org.springframework.ai.chat.prompt.Prompt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Closing the engine under load (issue 19, item 5): while 8 streams decode (and 2 more wait), {@link SpeculaEngine#close}
 * stops admitting, lets the streams run for the grace period, stops the rest at their next step and only then closes
 * the models: every stream ends with a clear error or completes, and nothing crashes, on the Java kernels and on DJL
 * (where freeing a model under a running pass would be a native use-after-free). With a grace period long enough,
 * every stream completes.
 */
@Timeout(180)
class EngineShutdownTest {

    @TempDir
    static Path tmp;

    static Path target;

    static Path drafter;

    @BeforeAll
    static void write() {
        target = TinyModelDirs.llama(tmp.resolve("target"), 5);
        drafter = TinyModelDirs.llamaDrafter(tmp.resolve("drafter"), 6);
    }

    static SpeculaEngine engine(String kernel, Duration grace) {
        SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString())
            .withKernel(kernel)
            .withLimits(new ServingLimits(8, 2, Duration.ofSeconds(60), 0, 0).withShutdownGracePeriod(grace)));
        // Each step takes a few milliseconds more, so that 400 tokens take seconds.
        engine.addDecodingListener(new DecodingListener() {
            @Override
            public void onStep(StepEvent step) {
                try {
                    Thread.sleep(5);
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
        });
        return engine;
    }

    static Prompt prompt(int i, int maxTokens) {
        return new Prompt("Once upon a time " + i, SpeculaChatOptions.builder()
            .temperature(i % 2 == 0 ? 0.0 : 0.8)
            .seed((long) i)
            .maxTokens(maxTokens)
            .speculative(i % 3 != 0)
            .build());
    }

    /** How one stream ended: completed (its finish reason) or failed. */
    record Ending(String finishReason, Throwable error) {
    }

    static CompletableFuture<Ending> subscribe(SpeculaChatModel model, Prompt prompt) {
        CompletableFuture<Ending> ending = new CompletableFuture<>();
        List<String> reasons = new ArrayList<>();
        model.stream(prompt).subscribe(chunk -> {
            String reason = chunk.getResult().getMetadata().getFinishReason();
            if (reason != null) {
                reasons.add(reason);
            }
        }, error -> ending.complete(new Ending(null, error)),
                () -> ending.complete(new Ending(reasons.isEmpty() ? null : reasons.get(0), null)));
        return ending;
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = { "auto", "djl" })
    void closingWhileEightStreamsDecodeEndsEachCleanly(String kernel) throws Exception {
        SpeculaEngine engine = engine(kernel, Duration.ofMillis(300));
        Scheduler scheduler = Schedulers.newBoundedElastic(16, 1000, "shutdown");
        try {
            SpeculaChatModel model = SpeculaChatModel.builder().engine(engine).scheduler(scheduler).build();
            List<CompletableFuture<Ending>> streams = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                streams.add(subscribe(model, prompt(i, 400)));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (engine.servingStatus().inFlight() < 8 || engine.servingStatus().queued() < 2) {
                assertThat(System.nanoTime()).as("%s", engine.servingStatus()).isLessThan(deadline);
                Thread.sleep(5);
            }
            long t0 = System.nanoTime();
            engine.close();
            assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(30));
            assertThat(engine.servingStatus().inFlight()).isZero();
            assertThat(engine.servingStatus().closed()).isTrue();

            int stopped = 0;
            int refused = 0;
            for (CompletableFuture<Ending> stream : streams) {
                Ending ending = stream.get(30, TimeUnit.SECONDS);
                if (ending.error() == null) {
                    assertThat(ending.finishReason()).isIn("STOP", "LENGTH");
                    continue;
                }
                assertThat(ending.error()).isInstanceOf(SpeculaException.class);
                String message = ending.error().getMessage();
                if (message.contains("shut down while the request was decoding")) {
                    assertThat(message).contains("shutdown-grace-period");
                    stopped++;
                }
                else {
                    assertThat(message).contains("closed");
                    refused++;
                }
            }
            assertThat(stopped).as("streams stopped after the grace period").isGreaterThan(0);
            assertThat(refused).as("queued streams refused").isEqualTo(2);
            // The engine refuses what comes next; the models are closed.
            assertThatThrownBy(() -> engine.generate(GenerationRequest.of(new int[] { 1, 5 }, 2, SamplingParams.GREEDY),
                    SpeculationSettings.OFF, null))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("closed");
        }
        finally {
            scheduler.dispose();
            engine.close();
        }
    }

    @Test
    void withAGracePeriodLongEnoughEveryStreamCompletes() throws Exception {
        SpeculaEngine engine = engine("auto", Duration.ofSeconds(60));
        Scheduler scheduler = Schedulers.newBoundedElastic(16, 1000, "shutdown");
        try {
            SpeculaChatModel model = SpeculaChatModel.builder().engine(engine).scheduler(scheduler).build();
            List<CompletableFuture<Ending>> streams = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                streams.add(subscribe(model, prompt(i, 40)));
            }
            while (engine.servingStatus().inFlight() < 8) {
                Thread.sleep(2);
            }
            engine.close();
            for (CompletableFuture<Ending> stream : streams) {
                Ending ending = stream.get(30, TimeUnit.SECONDS);
                assertThat(ending.error()).isNull();
                assertThat(ending.finishReason()).isIn("STOP", "LENGTH");
            }
        }
        finally {
            scheduler.dispose();
        }
    }
}
