package io.specula.engine;

import io.specula.adaptive.AdaptiveConfig;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Continuous batching keeps every request's output what it is alone: concurrent requests (plain, speculative with a
 * model drafter or prompt lookup, greedy or seeded sampling) that join and leave at different steps, stop on a
 * stop sequence, hit their token limit or are cancelled, with prompts longer than a pass (chunked prefill), give the
 * same tokens, text and finish reason as the same requests run one at a time without batching; and the passes were
 * really shared.
 */
@Timeout(180)
class ContinuousBatchingTest {

    @TempDir
    static Path tmp;

    static Path target;
    static Path drafter;

    static final List<String> PROMPTS = List.of("The quick brown fox", "Hello, world! How are", "In the forest there",
            "Once upon a time, in a land far away, there lived a king who had three daughters and a dog", "A B C D E",
            "zebra", "Numbers: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20", "the the the the");

    static final ServingLimits LIMITS = new ServingLimits(8, 64, Duration.ofSeconds(60), 0, 0);

    @BeforeAll
    static void write() {
        target = TinyModelDirs.llama(tmp.resolve("target"), 1);
        drafter = TinyModelDirs.write(tmp.resolve("drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(2).layers(1).hiddenSize(32));
    }

    /** One request of the mix: which prompt, how it decodes and how it ends. */
    record Case(int prompt, SpeculationSettings mode, SamplingParams sampling, int maxTokens, boolean stopEarly,
                int cancelAtStep) {
    }

    static List<Case> cases() {
        List<SpeculationSettings> modes = List.of(SpeculationSettings.OFF,
                new SpeculationSettings(true, 4, DraftPolicy.FIXED), SpeculationSettings.DEFAULT);
        List<Case> cases = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            SamplingParams sampling = i % 4 == 3 ? new SamplingParams(0.9, 0, 0.95, 1000L + i, 0, 0)
                    : SamplingParams.GREEDY;
            // A seed reproduces a sampled speculative output only with a fixed draft length (the adaptive policy's
            // choices follow measured times, and the draws they consume): the same holds without batching.
            SpeculationSettings mode = sampling.isGreedy() || i % 3 != 2 ? modes.get(i % 3) : modes.get(1);
            cases.add(new Case(i % PROMPTS.size(), mode, sampling, 6 + (i * 7) % 29, i % 5 == 1,
                    i % 7 == 2 ? 2 + i % 4 : -1));
        }
        return cases;
    }

    /** The request for a case; a stop sequence cut from the middle of the reference text when it stops early. */
    static GenerationRequest request(SpeculaEngine engine, Case c, String stop) {
        int[] prompt = engine.tokenizer().encode(PROMPTS.get(c.prompt()));
        BooleanSupplier cancelled = () -> false;
        if (c.cancelAtStep() >= 0) {
            AtomicInteger polls = new AtomicInteger();
            cancelled = () -> polls.incrementAndGet() > c.cancelAtStep();
        }
        return new GenerationRequest(prompt, c.maxTokens(), c.sampling(), stop == null ? List.of() : List.of(stop),
                List.of(), cancelled);
    }

    static String stopFor(Case c, GenerationResult full) {
        if (!c.stopEarly() || full.text().length() < 6) {
            return null;
        }
        String text = full.text();
        return text.substring(text.length() / 2, text.length() / 2 + 2);
    }

    @Test
    void concurrentRequestsGiveWhatEachGivesAloneWithModelAndNgramDrafters() throws Exception {
        for (String drafterSetting : List.of(drafter.toString(), "ngram")) {
            List<Case> cases = cases();
            List<GenerationResult> expected = new ArrayList<>();
            List<String> stops = new ArrayList<>();
            try (SpeculaEngine alone = SpeculaEngine.load(EngineConfig.of(target, drafterSetting).withLimits(LIMITS))) {
                assertThat(alone.batchingStatus().enabled()).isFalse();
                for (Case c : cases) {
                    GenerationResult full = alone.generate(request(alone, c, null), c.mode(), null);
                    String stop = stopFor(c, full);
                    stops.add(stop);
                    expected.add(stop == null ? full : alone.generate(request(alone, c, stop), c.mode(), null));
                }
            }
            // 16 positions a pass: the longer prompts are prefilled in chunks beside the others' steps.
            try (SpeculaEngine batched = SpeculaEngine.load(EngineConfig.of(target, drafterSetting).withLimits(LIMITS),
                    AdaptiveConfig.DISABLED, BatchingConfig.of(16))) {
                ExecutorService pool = Executors.newFixedThreadPool(8);
                try {
                    List<Future<GenerationResult>> futures = new ArrayList<>();
                    for (int i = 0; i < cases.size(); i++) {
                        Case c = cases.get(i);
                        String stop = stops.get(i);
                        futures.add(pool.submit(() -> batched.generate(request(batched, c, stop), c.mode(), null)));
                    }
                    for (int i = 0; i < cases.size(); i++) {
                        GenerationResult actual = futures.get(i).get(120, TimeUnit.SECONDS);
                        GenerationResult e = expected.get(i);
                        String what = drafterSetting + " " + cases.get(i);
                        assertThat(actual.tokenIds()).as(what).containsExactly(e.tokenIds());
                        assertThat(actual.text()).as(what).isEqualTo(e.text());
                        assertThat(actual.finishReason()).as(what).isEqualTo(e.finishReason());
                    }
                } finally {
                    pool.shutdownNow();
                }
                assertThat(expected).extracting(GenerationResult::finishReason)
                        .contains(FinishReason.STOP, FinishReason.LENGTH, FinishReason.CANCELLED);
                BatchingStatus status = batched.batchingStatus();
                assertThat(status.enabled()).isTrue();
                assertThat(status.running()).isZero();
                assertThat(status.largestPass()).as("sequences in one pass").isGreaterThan(1);
                assertThat(status.sequences()).as("passes were shared").isGreaterThan(status.passes());
                assertThat(status.positions()).isLessThanOrEqualTo(16 * status.passes());
                assertThat(batched.servingStatus().inFlight()).isZero();
            }
        }
    }

    /**
     * Speculative requests stay in step: they draft together in the drafter's shared passes and then verify together,
     * so a target pass holds every running request, not the part of the batch that happened to be between drafts
     * (here each drafts a different number of tokens).
     * The wait is long (1 s) so that only the scheduler's rule decides, not how fast a busy machine wakes threads.
     */
    @Test
    void speculativeRequestsVerifyTogether() throws Exception {
        int requests = 4;
        try (SpeculaEngine batched = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()).withLimits(LIMITS),
                AdaptiveConfig.DISABLED, new BatchingConfig(64, Duration.ofSeconds(1)))) {
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(requests);
            ExecutorService pool = Executors.newFixedThreadPool(requests);
            try {
                List<Future<GenerationResult>> futures = new ArrayList<>();
                for (int i = 0; i < requests; i++) {
                    int[] prompt = batched.tokenizer().encode(PROMPTS.get(i));
                    // Different draft lengths: without the rule, those that draft less would verify without the others.
                    SpeculationSettings fixed = new SpeculationSettings(true, 1 + i, DraftPolicy.FIXED);
                    futures.add(pool.submit(() -> {
                        start.await();
                        return batched.generate(GenerationRequest.of(prompt, 40, SamplingParams.GREEDY), fixed, null);
                    }));
                }
                for (Future<GenerationResult> f : futures) {
                    assertThat(f.get(120, TimeUnit.SECONDS).tokenIds()).hasSizeGreaterThan(0);
                }
            } finally {
                pool.shutdownNow();
            }
            BatchingStatus status = batched.batchingStatus();
            double perTargetPass = (double) status.targetSequences() / status.targetPasses();
            // Requests join one by one (their prompts) and leave at their end of text, so not every pass holds all 4.
            assertThat(perTargetPass).as("sequences per target pass (%s)", status).isGreaterThan(3.0);
            assertThat(status.passes()).isGreaterThan(status.targetPasses());
        }
    }

    @Test
    void onePositionAPassIsBatchingOffAndTheDjlPathKeepsItsOwnPasses() {
        try (SpeculaEngine one = SpeculaEngine.load(EngineConfig.of(target, "ngram"), AdaptiveConfig.DISABLED,
                BatchingConfig.of(1))) {
            assertThat(one.batchingStatus()).isEqualTo(BatchingStatus.OFF);
        }
        try (SpeculaEngine djl = SpeculaEngine.load(EngineConfig.of(target, "ngram").withKernel("djl"),
                AdaptiveConfig.DISABLED, BatchingConfig.of(32))) {
            assertThat(djl.batchingStatus().enabled()).isFalse();
            GenerationRequest r = GenerationRequest.of(djl.tokenizer().encode("Hello"), 5, SamplingParams.GREEDY);
            assertThat(djl.generate(r, SpeculationSettings.DEFAULT, null).tokenIds()).hasSize(5);
        }
    }
}
