package io.specula.speculative;

import io.specula.generate.GenerationRequest;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.generate.GenerationResult;
import io.specula.generate.LogitsProcessor;
import io.specula.generate.PlainGenerator;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenCounts;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.Quantization;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.NgramDrafter;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.testing.FakeTokenizer;
import io.specula.speculative.testing.TinyLlama;
import io.specula.speculative.verify.Pearson;
import org.junit.jupiter.api.Test;

import io.specula.engine.BatchScheduler;
import io.specula.engine.BatchingConfig;
import io.specula.engine.BatchingStatus;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sampling through the whole speculative generator on a tiny model: the first three output tokens must follow the
 * target's own next-token distributions (penalties, temperature, top-k, top-p applied), each given the tokens before
 * it — which is what plain sampling draws from; with a quantized target, the distributions of that target as loaded.
 * Seeded requests go through the coupled rule, unseeded ones through rejection sampling (their seeds come from a fixed
 * sequence here, so the test is deterministic). Pearson chi-square pooled over prefixes (see
 * {@link io.specula.speculative.verify.RejectionSamplerTest} for the method and the false-failure rate: each
 * assertion fails a correct sampler with probability {@value #ALPHA}; seeds are fixed).
 */
class SpeculativeSamplingTest {

    static final double ALPHA = 1e-4;
    static final int RUNS = 4000;
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(TinyLlama.VOCAB);
    static final SamplingParams PARAMS = new SamplingParams(2.0, 12, 0.97, null, 0.3, 0.1);
    static final Target FLOAT = new Target(TinyLlama.model(1));

    @Test
    void modelDrafterSamplesTheTargetDistribution() {
        FLOAT.check(new ModelDrafter("noisy", TinyLlama.model(1, TinyLlama.VOCAB, 2, 0.05)), 101, true);
    }

    @Test
    void ngramDrafterSamplesTheTargetDistribution() {
        FLOAT.check(new NgramDrafter(1, 2), 202, true);
    }

    @Test
    void modelDrafterSamplesTheTargetDistributionWithoutASeed() {
        FLOAT.check(new ModelDrafter("noisy", TinyLlama.model(1, TinyLlama.VOCAB, 2, 0.05)), 505, false);
    }

    @Test
    void ngramDrafterSamplesTheTargetDistributionWithoutASeed() {
        FLOAT.check(new NgramDrafter(1, 2), 606, false);
    }

    @Test
    void plainGeneratorPassesTheSameCheck() {
        // The reference itself, so a failure above cannot be blamed on the test's expectations.
        PlainGenerator plain = new PlainGenerator(FLOAT.model, TOKENIZER, List.of(), 256, null);
        FLOAT.check(seed -> plain.generate(FLOAT.request(seed)), 303, false);
    }

    /**
     * The same check for requests decoded inside a batch: 4 threads share the target's and the drafter's passes
     * (continuous batching), and each request's output still follows the target's distribution.
     */
    @Test
    void requestsDecodedInsideABatchSampleTheTargetDistribution() throws Exception {
        try (BatchScheduler scheduler = BatchScheduler.create(BatchingConfig.of(32), FLOAT.model)) {
            CausalLm target = BatchScheduler.share(scheduler, FLOAT.model);
            Drafter drafter = new ModelDrafter("noisy",
                    BatchScheduler.share(scheduler, TinyLlama.model(1, TinyLlama.VOCAB, 2, 0.05)));
            SpeculativeGenerator spec = new SpeculativeGenerator(target, TOKENIZER, List.of(), 256, drafter,
                    () -> new DraftPolicies().create(DraftPolicy.FIXED, 3), null);
            long seedBase = 505;
            Map<Long, GenerationResult> results = new ConcurrentHashMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < RUNS; i++) {
                    long seed = seedBase * 1_000_003L + i;
                    futures.add(pool.submit(() -> results.put(seed, spec.generate(FLOAT.request(seed)))));
                }
                for (Future<?> f : futures) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            FLOAT.check(results::get, seedBase, true);
            BatchingStatus status = scheduler.statistics().snapshot(0);
            assertThat(status.sequences()).as("passes were shared").isGreaterThan(status.passes());
        }
    }

    /**
     * A 4-bit target with a 4-bit drafter (another quantizer, on noisy weights): the output follows the distribution
     * of the target as loaded, quantized, which is what plain sampling from it draws from.
     */
    @Test
    void quantizedDrafterSamplesTheQuantizedTargetsDistribution() {
        Target q4 = new Target(TinyLlama.model(1, TinyLlama.VOCAB, 2, 0, Quantization.Q4_1));
        q4.check(new ModelDrafter("noisy q4_0", TinyLlama.model(1, TinyLlama.VOCAB, 2, 0.05, Quantization.Q4_0)), 404, true);
    }

    interface Run {
        GenerationResult generate(long seed);
    }

    /** A target model and a prompt of its own greedy text (it loops, so the n-gram drafter finds continuations). */
    static final class Target {
        final CausalLm model;
        final int[] prompt;

        Target(CausalLm model) {
            this.model = model;
            this.prompt = greedyText(model, new int[] {5, 9}, 14);
        }

        GenerationRequest request(Long seed) {
            return GenerationRequest.of(prompt, 3, new SamplingParams(PARAMS.temperature(), PARAMS.topK(),
                    PARAMS.topP(), seed, PARAMS.frequencyPenalty(), PARAMS.presencePenalty()));
        }

        void check(Drafter drafter, long seedBase, boolean seeded) {
            AtomicLong unseeded = new AtomicLong(seedBase << 32);
            SpeculativeGenerator spec = new SpeculativeGenerator(model, TOKENIZER, List.of(), 256, drafter,
                    () -> new DraftPolicies().create(DraftPolicy.FIXED, 3), null)
                    .unseededSeeds(unseeded::incrementAndGet);
            check(seed -> spec.generate(request(seeded ? Long.valueOf(seed) : null)), seedBase, true);
        }

        void check(Run run, long seedBase, boolean speculative) {
            Map<String, long[]> counts = new HashMap<>();
            long accepted = 0;
            for (int i = 0; i < RUNS; i++) {
                GenerationResult r = run.generate(seedBase * 1_000_003L + i);
                int[] out = r.tokenIds();
                assertThat(out).hasSize(3);
                for (int k = 0; k < 3; k++) {
                    counts.computeIfAbsent(key(out, k), x -> new long[TinyLlama.VOCAB])[out[k]]++;
                }
                accepted += r.stats().acceptedTokens();
            }
            if (speculative) {
                assertThat(accepted).as("drafts accepted").isPositive();
            }
            Pearson[] byPosition = {new Pearson(), new Pearson(), new Pearson()};
            for (Map.Entry<String, long[]> e : counts.entrySet()) {
                int[] prefix = parse(e.getKey());
                long n = Arrays.stream(e.getValue()).sum();
                byPosition[prefix.length].addGroup(e.getValue(), distribution(prefix), n);
            }
            for (int k = 0; k < 3; k++) {
                assertThat(byPosition[k].impossible).as("position %d: tokens with p = 0", k).isZero();
                assertThat(byPosition[k].df).as("position %d: degrees of freedom", k).isPositive();
                assertThat(byPosition[k].pValue()).as("position %d: p-value", k).isGreaterThan(ALPHA);
            }
        }

        /** The target's processed distribution after the prompt and {@code prefix}, penalties counting the prefix. */
        float[] distribution(int[] prefix) {
            int[] all = Arrays.copyOf(prompt, prompt.length + prefix.length);
            System.arraycopy(prefix, 0, all, prompt.length, prefix.length);
            TokenCounts history = new TokenCounts(TinyLlama.VOCAB);
            for (int t : prefix) {
                history.add(t);
            }
            try (KvCache cache = model.newCache(all.length)) {
                float[] logits = model.forward(all, cache, 1)[0];
                return new LogitsProcessor(PARAMS).probabilities(logits, history);
            }
        }
    }

    static int[] greedyText(CausalLm model, int[] start, int tokens) {
        int[] out = new PlainGenerator(model, TOKENIZER, List.of(), 256, null)
                .generate(GenerationRequest.of(start, tokens, SamplingParams.GREEDY)).tokenIds();
        int[] all = Arrays.copyOf(start, start.length + out.length);
        System.arraycopy(out, 0, all, start.length, out.length);
        return all;
    }

    static String key(int[] out, int k) {
        return Arrays.toString(Arrays.copyOf(out, k));
    }

    static int[] parse(String key) {
        String body = key.substring(1, key.length() - 1).trim();
        return body.isEmpty() ? new int[0] : Arrays.stream(body.split(", ")).mapToInt(Integer::parseInt).toArray();
    }
}
