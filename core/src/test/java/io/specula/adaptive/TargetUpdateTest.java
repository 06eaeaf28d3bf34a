package io.specula.adaptive;

import io.specula.engine.ChatRequest;
import io.specula.engine.DecodingOptions;
import io.specula.engine.EngineConfig;
import io.specula.engine.EngineLoadException;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.tokenizer.ChatMessage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static io.specula.adaptive.AdaptiveDrafterTest.FIXED;
import static io.specula.adaptive.AdaptiveDrafterTest.MAX_TOKENS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Target updates while serving ({@link SpeculaEngine#updateTarget}), on the tiny pair and its target v2
 * ({@link AdaptiveFixtures#targetV2}: the target fine-tuned so that the list language's successors change). The
 * references are engines that load one target alone and decode without a drafter.
 */
class TargetUpdateTest {

    static List<String> prompts;
    static List<int[]> v1Plain;
    static List<int[]> v2Plain;

    @BeforeAll
    static void references() {
        prompts = AdaptiveFixtures.prompts(AdaptiveFixtures.domainBFresh(), 6, 6);
        v1Plain = plainOutputs(AdaptiveFixtures.target());
        v2Plain = plainOutputs(AdaptiveFixtures.targetV2());
    }

    private static List<int[]> plainOutputs(Path target) {
        try (SpeculaEngine e = SpeculaEngine.load(EngineConfig.of(target, "none"))) {
            List<int[]> out = new ArrayList<>();
            for (String p : prompts) {
                out.add(e.generate(request(e, p), SpeculationSettings.OFF, null).tokenIds());
            }
            return out;
        }
    }

    static GenerationRequest request(SpeculaEngine e, String prompt) {
        return GenerationRequest.of(e.tokenizer().encode(prompt), MAX_TOKENS, SamplingParams.GREEDY);
    }

    @Test
    void theTwoTargetsDisagreeSoTheTestsBelowCanTellThemApart() {
        int differ = 0;
        for (int i = 0; i < prompts.size(); i++) {
            differ += java.util.Arrays.equals(v1Plain.get(i), v2Plain.get(i)) ? 0 : 1;
        }
        assertThat(differ).as("prompts whose greedy output differs between v1 and v2").isGreaterThanOrEqualTo(4);
    }

    @Test
    void requestsAfterAnUpdateDecodeOnTheNewTargetAndTheOneInFlightFinishesOnItsOwn() {
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(),
                AdaptiveFixtures.drafter().toString()), AdaptiveDrafterTest.config())) {
            assertThat(engine.targetVersion()).isEqualTo(1);
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(engine.generate(request(engine, prompts.get(i)), FIXED, null).tokenIds())
                        .as("before the update: v1's output").containsExactly(v1Plain.get(i));
            }

            // The update happens in the middle of request 0, from its own token listener (between two steps).
            AtomicInteger tokens = new AtomicInteger();
            AtomicInteger updatedTo = new AtomicInteger();
            GenerationResult inFlight = engine.generate(request(engine, prompts.get(0)), FIXED, (id, text, source) -> {
                if (tokens.incrementAndGet() == 3) {
                    updatedTo.set(engine.updateTarget(AdaptiveFixtures.targetV2()));
                }
            });
            assertThat(updatedTo.get()).isEqualTo(2);
            assertThat(engine.targetVersion()).isEqualTo(2);
            assertThat(inFlight.tokenIds()).as("the request in flight finishes on v1").containsExactly(v1Plain.get(0));

            for (int i = 0; i < prompts.size(); i++) {
                GenerationRequest r = request(engine, prompts.get(i));
                assertThat(engine.generate(r, FIXED, null).tokenIds()).as("speculative, after the update: v2's output")
                        .containsExactly(v2Plain.get(i));
                assertThat(engine.generate(r, SpeculationSettings.OFF, null).tokenIds())
                        .as("plain, after the update: v2's output").containsExactly(v2Plain.get(i));
            }
            assertThat(engine.info().targetName()).isEqualTo("target-v2");
        }
    }

    @Test
    void aRequestSubmittedWithoutAThreadKeepsItsTargetAcrossAnUpdateAndTheNextOneTakesTheNewOne() throws Exception {
        // submit (the streams' entrance) takes the target when the admitted request starts decoding, as chat does.
        ChatRequest chat = new ChatRequest(List.of(new ChatMessage("user", prompts.get(1))),
                new DecodingOptions(0.0, null, null, MAX_TOKENS, null, null, null, null, true, null, null));
        int[] v1Chat = chatOutput(AdaptiveFixtures.target(), chat);
        int[] v2Chat = chatOutput(AdaptiveFixtures.targetV2(), chat);
        assertThat(v1Chat).as("the two targets answer this chat differently").isNotEqualTo(v2Chat);
        ExecutorService executor = Executors.newFixedThreadPool(2);
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(),
                AdaptiveFixtures.drafter().toString()), AdaptiveDrafterTest.config())) {
            AtomicInteger tokens = new AtomicInteger();
            AtomicInteger updatedTo = new AtomicInteger();
            GenerationResult inFlight = engine.submit(chat, (id, text, source) -> {
                if (tokens.incrementAndGet() == 3) {
                    updatedTo.set(engine.updateTarget(AdaptiveFixtures.targetV2()));
                }
            }, () -> false, executor).get(60, TimeUnit.SECONDS);
            assertThat(updatedTo.get()).isEqualTo(2);
            assertThat(inFlight.tokenIds()).as("the submitted request in flight finishes on v1").containsExactly(v1Chat);
            GenerationResult after = engine.submit(chat, null, () -> false, executor).get(60, TimeUnit.SECONDS);
            assertThat(after.tokenIds()).as("submitted after the update: v2's output").containsExactly(v2Chat);
            assertThat(after.latency().timeToFirstTokenNanos()).as("the latency is measured on this path too")
                    .isGreaterThan(0);
        } finally {
            executor.shutdownNow();
        }
    }

    private static int[] chatOutput(Path target, ChatRequest chat) {
        try (SpeculaEngine e = SpeculaEngine.load(EngineConfig.of(target, "none"))) {
            return e.chat(chat, null, () -> false).tokenIds();
        }
    }

    @Test
    void requestsOnSeveralThreadsAcrossAnUpdateAreEachExactlyOneTargetsOutput() throws Exception {
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(),
                AdaptiveFixtures.drafter().toString()))) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicInteger mixed = new AtomicInteger();
            AtomicInteger onV1 = new AtomicInteger();
            AtomicInteger onV2 = new AtomicInteger();
            for (int t = 0; t < 2; t++) {
                threads.add(new Thread(() -> {
                    try {
                        for (int n = 0; n < 12; n++) {
                            int i = n % prompts.size();
                            int[] out = engine.generate(request(engine, prompts.get(i)), FIXED, null).tokenIds();
                            if (java.util.Arrays.equals(out, v1Plain.get(i))) {
                                onV1.incrementAndGet();
                            } else if (java.util.Arrays.equals(out, v2Plain.get(i))) {
                                onV2.incrementAndGet();
                            } else {
                                mixed.incrementAndGet();
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            threads.forEach(Thread::start);
            Thread.sleep(50);
            engine.updateTarget(AdaptiveFixtures.targetV2());
            for (Thread t : threads) {
                t.join(120_000);
            }
            assertThat(errors).isEmpty();
            assertThat(mixed.get()).as("outputs that are neither v1's nor v2's").isZero();
            assertThat(onV1.get() + onV2.get()).isEqualTo(24);
            // After the update every new request is v2's: one more from each prompt.
            for (int i = 0; i < prompts.size(); i++) {
                assertThat(engine.generate(request(engine, prompts.get(i)), FIXED, null).tokenIds())
                        .containsExactly(v2Plain.get(i));
            }
        }
    }

    @Test
    void theAdaptiveDrafterKeepsOnlyTheServingTargetsExamplesAndLearnsTheNewTarget() {
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(),
                AdaptiveFixtures.drafter().toString()), AdaptiveDrafterTest.config())) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            List<String> stream = AdaptiveFixtures.prompts(AdaptiveFixtures.domainB(), 12, 6);
            for (String p : stream) {
                engine.generate(request(engine, p), FIXED, null);
            }
            long before = adaptive.buffer().trainingSize() + adaptive.buffer().heldOutSize();
            assertThat(before).isPositive();
            assertThat(adaptive.buffer().training()).allMatch(e -> e.target() == 1);

            // An update in the middle of a request: that request's examples are of v1, so they are not kept.
            AtomicInteger tokens = new AtomicInteger();
            engine.generate(request(engine, stream.get(0)), FIXED, (id, text, source) -> {
                if (tokens.incrementAndGet() == 2) {
                    engine.updateTarget(AdaptiveFixtures.targetV2());
                }
            });
            assertThat(adaptive.status().targetVersion()).isEqualTo(2);
            assertThat(adaptive.buffer().trainingSize() + adaptive.buffer().heldOutSize())
                    .as("v1's examples are dropped").isZero();
            assertThat(adaptive.status().examplesDropped()).isGreaterThan(before);
            AdaptiveDrafter.UpdateResult empty = adaptive.update();
            assertThat(empty.outcome()).isEqualTo(AdaptiveDrafter.Outcome.SKIPPED);

            // Fresh prompts in v2's list language (never in the stream), checked against v2's plain output.
            List<GenerationRequest> fresh = AdaptiveDrafterTest.requests(engine,
                    AdaptiveFixtures.prompts(AdaptiveFixtures.domainB2(202, 60), 12, 6));
            double stale = AdaptiveDrafterTest.acceptance(engine, fresh);
            List<String> stream2 = AdaptiveFixtures.prompts(AdaptiveFixtures.domainB2(101, 200), 60, 6);
            int accepted = 0;
            double adapted = stale;
            for (int round = 0; round < 5; round++) {
                for (String p : stream2.subList(round * 12, round * 12 + 12)) {
                    engine.generate(request(engine, p), FIXED, null);
                }
                AdaptiveDrafter.UpdateResult u = adaptive.update();
                accepted += u.outcome() == AdaptiveDrafter.Outcome.ACCEPTED ? 1 : 0;
                adapted = AdaptiveDrafterTest.acceptance(engine, fresh);
                System.out.printf(java.util.Locale.ROOT, "target v2, round %d: %s, acceptance on fresh v2 prompts %.4f"
                        + " (stale %.4f)%n", round, u.outcome(), adapted, stale);
            }
            assertThat(adaptive.buffer().training()).allMatch(e -> e.target() == 2);
            assertThat(adaptive.buffer().heldOut()).allMatch(e -> e.target() == 2);
            assertThat(accepted).as("candidates judged better on v2's held-out traffic").isPositive();
            // Seeded batches, updates on this thread, greedy; measured 0.0451 -> 0.1314 with this class alone and
            // 0.0451 -> 0.1158 after other test classes (PyTorch's thread count is fixed by the JVM's first DJL user,
            // and float sums differ with it): the bound, +0.04, is about half the smaller gain.
            assertThat(adapted).as("acceptance on v2 after adapting to it (was %.3f)", stale)
                    .isGreaterThan(stale + 0.04);
        }
    }

    @Test
    void aTargetUpdateDuringADrafterUpdateStopsItWithoutAFailure() throws Exception {
        // One long update (100,000 steps) on its own thread; the target is updated while it trains.
        AdaptiveConfig config = AdaptiveDrafterTest.config().withTraining(8, 3e-3f, 100_000);
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(),
                AdaptiveFixtures.drafter().toString()), config)) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            for (String p : AdaptiveFixtures.prompts(AdaptiveFixtures.domainB(), 16, 6)) {
                engine.generate(request(engine, p), FIXED, null);
            }
            java.util.concurrent.CompletableFuture<AdaptiveDrafter.UpdateResult> update =
                    java.util.concurrent.CompletableFuture.supplyAsync(adaptive::update);
            BackgroundLoopTest.waitFor("the update trains", () -> adaptive.trainingSteps() > 2);
            engine.updateTarget(AdaptiveFixtures.targetV2());
            AdaptiveDrafter.UpdateResult result = update.get(3, java.util.concurrent.TimeUnit.MINUTES);
            assertThat(result.outcome()).as(result.toString()).isEqualTo(AdaptiveDrafter.Outcome.SKIPPED);
            assertThat(result.message()).contains("target was updated");
            assertThat(adaptive.failures()).isZero();
            assertThat(adaptive.version()).isZero();
        }
    }

    @Test
    void anUpdateWithAnotherTokenizerIsRefusedAndTheServingTargetStays(@TempDir Path dir) throws Exception {
        Path other = dir.resolve("other");
        Files.createDirectories(other);
        try (var files = Files.list(AdaptiveFixtures.targetV2())) {
            for (Path f : files.toList()) {
                Files.copy(f, other.resolve(f.getFileName()));
            }
        }
        Path tj = other.resolve("tokenizer.json");
        Files.writeString(tj, Files.readString(tj).replaceFirst("\\{", "{ "));
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(),
                AdaptiveFixtures.drafter().toString()))) {
            assertThatThrownBy(() -> engine.updateTarget(other)).isInstanceOf(EngineLoadException.class)
                    .hasMessageContaining("tokenizer.json").hasMessageContaining("keep the tokenizer");
            assertThatThrownBy(() -> engine.updateTarget(dir.resolve("missing")))
                    .isInstanceOf(EngineLoadException.class);
            assertThat(engine.targetVersion()).isEqualTo(1);
            assertThat(engine.generate(request(engine, prompts.get(0)), FIXED, null).tokenIds())
                    .containsExactly(v1Plain.get(0));
        }
    }
}
