package io.specula.speculative;

import io.specula.generate.DecodingListener;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenSource;
import io.specula.model.CausalLm;
import io.specula.speculative.drafter.Draft;
import io.specula.speculative.drafter.DraftContext;
import io.specula.speculative.drafter.DraftGate;
import io.specula.speculative.drafter.DraftSession;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.NgramDrafter;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.stats.SpeculationSnapshot;
import io.specula.speculative.stats.SpeculationStatistics;
import io.specula.speculative.testing.FakeTokenizer;
import io.specula.speculative.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Greedy speculative decoding must produce exactly the tokens of target-only decoding ({@link PlainGenerator}), for
 * every drafter and policy, whatever the drafter proposes: vLLM #41758, llama.cpp #25618 and transformers #30042 are
 * reports of the opposite.
 */
class SpeculativeGreedyEquivalenceTest {

    static final int CONTEXT = 256;
    static final CausalLm TARGET = TinyLlama.model(1);
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(TinyLlama.VOCAB);
    static final PlainGenerator PLAIN = new PlainGenerator(TARGET, TOKENIZER, List.of(), CONTEXT, null);

    static Map<String, Drafter> drafters() {
        return Map.of(
                "ngram", new NgramDrafter(1, 3),
                "other model", new ModelDrafter("other", TinyLlama.model(2)),
                "noisy target", new ModelDrafter("noisy", TinyLlama.model(1, TinyLlama.VOCAB, 2, 0.05)),
                "target itself", new ModelDrafter("self", TARGET),
                "padded-vocabulary target", new ModelDrafter("padded", TinyLlama.model(1, TinyLlama.VOCAB + 8, 2, 0)),
                "smaller-vocabulary drafter", new ModelDrafter("small", TinyLlama.model(1, TinyLlama.VOCAB - 8, 1, 0.02)),
                "always wrong", new AlwaysWrongDrafter(TARGET));
    }

    static final List<DraftPolicy> POLICIES = List.of(DraftPolicy.FIXED, DraftPolicy.HEURISTIC,
            DraftPolicy.CONFIDENCE, DraftPolicy.ADAPTIVE);

    static int[] prompt(SplittableRandom r) {
        int[] p = new int[1 + r.nextInt(12)];
        for (int i = 0; i < p.length; i++) {
            p[i] = r.nextInt(TinyLlama.VOCAB);
        }
        return p;
    }

    @Test
    void sameTokensAsTheTargetAloneForEveryDrafterPolicyAndDraftLength() {
        Map<String, Integer> faults = new java.util.TreeMap<>();
        SpeculationStatistics stats = new SpeculationStatistics();
        DecodingListener listener = new DecodingListener() {
            @Override
            public void onStep(StepEvent step) {
                stats.onStep(step);
            }

            @Override
            public void onRequestFinished(io.specula.generate.DecodingStats s, FinishReason reason) {
                stats.onRequestFinished(s, reason);
            }

            @Override
            public void onDrafterFault(String drafter, Throwable cause) {
                stats.onDrafterFault(drafter, cause);
                faults.merge(drafter + ": " + cause.getMessage().replaceAll("[0-9]+", "N"), 1, Integer::sum);
            }
        };
        DraftPolicies policies = new DraftPolicies();
        SplittableRandom r = new SplittableRandom(2024);
        int runs = 0;
        for (Map.Entry<String, Drafter> d : drafters().entrySet()) {
            for (int gamma : new int[] {1, 2, 4, 7}) {
                for (DraftPolicy policy : POLICIES) {
                    SpeculativeGenerator spec = new SpeculativeGenerator(TARGET, TOKENIZER, List.of(), CONTEXT,
                            d.getValue(), () -> policies.create(policy, gamma), listener);
                    for (int i = 0; i < 3; i++) {
                        SamplingParams sampling = r.nextInt(3) == 0
                                ? new SamplingParams(0, 0, 1, null, 0.3 + r.nextDouble(), r.nextDouble())
                                : SamplingParams.GREEDY;
                        GenerationRequest req = GenerationRequest.of(prompt(r), 20 + r.nextInt(40), sampling);
                        GenerationResult expected = PLAIN.generate(req);
                        GenerationResult actual = spec.generate(req);
                        assertThat(actual.tokenIds())
                                .as("%s drafter, γ=%d, %s policy, %s", d.getKey(), gamma, policy, sampling)
                                .containsExactly(expected.tokenIds());
                        assertThat(actual.text()).isEqualTo(expected.text());
                        assertThat(actual.finishReason()).isEqualTo(expected.finishReason());
                        runs++;
                    }
                }
            }
        }
        SpeculationSnapshot s = stats.snapshot();
        assertThat(runs).isEqualTo(7 * 4 * 4 * 3);
        assertThat(s.requests()).isEqualTo(runs);
        // Only the drafter with fewer rows than the target fails, when the target emits an id it cannot embed; those
        // requests finish with the target alone (and their output was checked above).
        assertThat(faults.keySet()).containsOnly("small: drafter 'small' cannot read token id N (it has N embedding rows)");
        assertThat(s.drafterFaults()).isEqualTo(faults.values().stream().mapToInt(Integer::intValue).sum());
        assertThat(s.acceptedTokens()).isPositive();
    }

    @Test
    void targetAsItsOwnDrafterAcceptsEverything() {
        SpeculativeGenerator spec = new SpeculativeGenerator(TARGET, TOKENIZER, List.of(), CONTEXT,
                new ModelDrafter("self", TARGET), () -> new DraftPolicies().create(DraftPolicy.FIXED, 4), null);
        List<TokenSource> sources = new ArrayList<>();
        StringBuilder streamed = new StringBuilder();
        GenerationRequest req = GenerationRequest.of(new int[] {3, 1, 4, 1, 5}, 41, SamplingParams.GREEDY);
        GenerationResult result = spec.generate(req, (id, delta, source) -> {
            sources.add(source);
            streamed.append(delta);
        });
        assertThat(result.tokenIds()).containsExactly(PLAIN.generate(req).tokenIds());
        assertThat(result.stats().acceptanceRate()).isEqualTo(1.0);
        // First token from the prompt's logits, then 8 steps of 4 drafts + 1 bonus token.
        assertThat(result.stats().steps()).isEqualTo(8);
        assertThat(result.stats().meanAcceptanceLength()).isEqualTo(5.0);
        assertThat(result.stats().acceptedByPosition()).containsExactly(8, 8, 8, 8);
        assertThat(sources.stream().filter(s -> s == TokenSource.DRAFTER).count()).isEqualTo(32);
        assertThat(streamed.toString()).isEqualTo(result.text());
    }

    @Test
    void paddedDrafterNeverProposesIdsTheTargetCannotEmit() {
        SpeculationStatistics stats = new SpeculationStatistics();
        SpeculativeGenerator spec = new SpeculativeGenerator(TARGET, TOKENIZER, List.of(), CONTEXT,
                new ModelDrafter("padded", TinyLlama.model(1, TinyLlama.VOCAB + 8, 2, 0)),
                () -> new DraftPolicies().create(DraftPolicy.FIXED, 4), stats);
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 10; i++) {
            GenerationRequest req = GenerationRequest.of(prompt(r), 30, SamplingParams.GREEDY);
            assertThat(spec.generate(req).tokenIds()).containsExactly(PLAIN.generate(req).tokenIds());
        }
        // Same weights on the common ids: with padding masked the drafter is the target.
        assertThat(stats.snapshot().drafterFaults()).isZero();
        assertThat(stats.snapshot().acceptanceRate()).isEqualTo(1.0);
    }

    /** Proposes the token after the target's own choice: every draft is rejected at its first position. */
    static final class AlwaysWrongDrafter implements Drafter {
        private final ModelDrafter oracle;

        AlwaysWrongDrafter(CausalLm target) {
            this.oracle = new ModelDrafter("oracle", target);
        }

        @Override
        public String name() {
            return "always-wrong";
        }

        @Override
        public DraftSession open(DraftContext context) {
            DraftSession inner = oracle.open(context);
            return new DraftSession() {
                @Override
                public int backlog() {
                    return inner.backlog();
                }

                @Override
                public Draft propose(int maxTokens, DraftGate gate) {
                    Draft d = inner.propose(maxTokens, gate);
                    int[] wrong = d.tokens().clone();
                    for (int i = 0; i < wrong.length; i++) {
                        wrong[i] = (wrong[i] + 1) % context.vocabSize();
                    }
                    return new Draft(wrong, null, d.syncedTokens());
                }

                @Override
                public void accepted(int acceptedCount, int nextToken) {
                    inner.accepted(acceptedCount, nextToken);
                }

                @Override
                public void close() {
                    inner.close();
                }
            };
        }
    }
}
