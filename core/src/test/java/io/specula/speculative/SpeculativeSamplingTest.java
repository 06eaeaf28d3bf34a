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
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.NgramDrafter;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.testing.FakeTokenizer;
import io.specula.speculative.testing.TinyLlama;
import io.specula.speculative.verify.Pearson;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Sampling through the whole speculative generator on a tiny model: the first three output tokens must follow the
 * target's own next-token distributions (penalties, temperature, top-k, top-p applied), each given the tokens before
 * it — which is what plain sampling draws from. Seeded requests go through the coupled rule, unseeded ones through
 * rejection sampling (their seeds come from a fixed sequence here, so the test is deterministic). Pearson chi-square pooled over prefixes (see
 * {@link io.specula.speculative.verify.RejectionSamplerTest} for the method and the false-failure rate: each
 * assertion fails a correct sampler with probability {@value #ALPHA}; seeds are fixed).
 */
class SpeculativeSamplingTest {

    static final double ALPHA = 1e-4;
    static final int RUNS = 4000;
    static final CausalLm TARGET = TinyLlama.model(1);
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(TinyLlama.VOCAB);
    /** The target's own greedy text: it loops, so the n-gram drafter finds continuations the target likes. */
    static final int[] PROMPT = greedyText(new int[] {5, 9}, 14);
    static final SamplingParams PARAMS = new SamplingParams(2.0, 12, 0.97, null, 0.3, 0.1);

    @Test
    void modelDrafterSamplesTheTargetDistribution() {
        check(new ModelDrafter("noisy", TinyLlama.model(1, TinyLlama.VOCAB, 2, 0.05)), 101, true);
    }

    @Test
    void ngramDrafterSamplesTheTargetDistribution() {
        check(new NgramDrafter(1, 2), 202, true);
    }

    @Test
    void modelDrafterSamplesTheTargetDistributionWithoutASeed() {
        check(new ModelDrafter("noisy", TinyLlama.model(1, TinyLlama.VOCAB, 2, 0.05)), 404, false);
    }

    @Test
    void ngramDrafterSamplesTheTargetDistributionWithoutASeed() {
        check(new NgramDrafter(1, 2), 505, false);
    }

    @Test
    void plainGeneratorPassesTheSameCheck() {
        // The reference itself, so a failure above cannot be blamed on the test's expectations.
        PlainGenerator plain = new PlainGenerator(TARGET, TOKENIZER, List.of(), 256, null);
        check(seed -> plain.generate(request(seed)), 303, false);
    }

    interface Run {
        GenerationResult generate(long seed);
    }

    static GenerationRequest request(Long seed) {
        return GenerationRequest.of(PROMPT, 3, new SamplingParams(PARAMS.temperature(), PARAMS.topK(), PARAMS.topP(),
                seed, PARAMS.frequencyPenalty(), PARAMS.presencePenalty()));
    }

    static void check(Drafter drafter, long seedBase, boolean seeded) {
        java.util.concurrent.atomic.AtomicLong unseeded = new java.util.concurrent.atomic.AtomicLong(seedBase << 32);
        SpeculativeGenerator spec = new SpeculativeGenerator(TARGET, TOKENIZER, List.of(), 256, drafter,
                () -> new DraftPolicies().create(DraftPolicy.FIXED, 3), null)
                .unseededSeeds(unseeded::incrementAndGet);
        check(seed -> spec.generate(request(seeded ? Long.valueOf(seed) : null)), seedBase, true);
    }

    static void check(Run run, long seedBase, boolean speculative) {
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
            byPosition[prefix.length].addGroup(e.getValue(), targetDistribution(prefix), n);
        }
        for (int k = 0; k < 3; k++) {
            assertThat(byPosition[k].impossible).as("position %d: tokens with p = 0", k).isZero();
            assertThat(byPosition[k].df).as("position %d: degrees of freedom", k).isPositive();
            assertThat(byPosition[k].pValue()).as("position %d: p-value", k).isGreaterThan(ALPHA);
        }
    }

    /** The target's processed distribution after the prompt and {@code prefix}, penalties counting the prefix. */
    static float[] targetDistribution(int[] prefix) {
        int[] all = Arrays.copyOf(PROMPT, PROMPT.length + prefix.length);
        System.arraycopy(prefix, 0, all, PROMPT.length, prefix.length);
        TokenCounts history = new TokenCounts(TinyLlama.VOCAB);
        for (int t : prefix) {
            history.add(t);
        }
        try (KvCache cache = TARGET.newCache(all.length)) {
            float[] logits = TARGET.forward(all, cache, 1)[0];
            return new LogitsProcessor(PARAMS).probabilities(logits, history);
        }
    }

    static int[] greedyText(int[] start, int tokens) {
        int[] out = new PlainGenerator(TARGET, TOKENIZER, List.of(), 256, null)
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
