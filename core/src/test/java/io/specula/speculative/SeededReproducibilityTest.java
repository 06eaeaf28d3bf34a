package io.specula.speculative;

import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.generate.SamplingParams;
import io.specula.model.CausalLm;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.NgramDrafter;
import io.specula.speculative.policy.AdaptiveEstimates;
import io.specula.speculative.policy.DraftLengthPolicy;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.speculative.policy.FixedPolicy;
import io.specula.speculative.policy.StepContext;
import io.specula.speculative.policy.StepOutcome;
import io.specula.speculative.testing.FakeTokenizer;
import io.specula.speculative.testing.TinyLlama;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A seeded request gives the same text on every run, whatever draft lengths the policy chooses (it decides on measured
 * times, which differ from run to run), and the same text as plain decoding with that seed: the draws are keyed to
 * output positions and seeded speculative sampling accepts a draft only when it is the token plain sampling draws there
 * ({@link io.specula.speculative.verify.CoupledAcceptance}).
 */
class SeededReproducibilityTest {

    static final CausalLm TARGET = TinyLlama.model(3);
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(TinyLlama.VOCAB);
    static final int[] PROMPT = {5, 9, 11, 5, 9};
    static final int TOKENS = 60;

    static GenerationRequest request(double temperature, long seed) {
        return GenerationRequest.of(PROMPT, TOKENS, new SamplingParams(temperature, 0, 1, seed, 0.2, 0));
    }

    @Test
    void theSameSeededRequestTwiceWithThePolicyForcedToOtherDraftLengthsInBetween() {
        Drafter drafter = new ModelDrafter("noisy", TinyLlama.model(3, TinyLlama.VOCAB, 2, 0.05));
        DraftPolicies policies = new DraftPolicies();
        SpeculativeGenerator spec = new SpeculativeGenerator(TARGET, TOKENIZER, List.of(), 256, drafter,
                () -> policies.create(DraftPolicy.ADAPTIVE, 4), null);
        GenerationRequest request = request(1.0, 42);

        GenerationResult first = spec.generate(request);
        long[] chosenBefore = policies.estimates().snapshot().draftLengthHistogram();

        // In between: other requests at every fixed draft length, and the engine's estimates poisoned so that the
        // default policy's choices change (a drafter cost of 17.4 ms per token, as in issue 18).
        for (int g = 1; g <= 8; g++) {
            spec.generate(request, new FixedPolicy(g), null);
        }
        AdaptiveEstimates estimates = policies.estimates();
        for (int i = 0; i < 40; i++) {
            DraftLengthPolicy poisoner = policies.create(DraftPolicy.ADAPTIVE, 4);
            poisoner.nextDraftLength(StepContext.steady(4));
            poisoner.observe(new StepOutcome(2, 2, 0, 1, 34_800_000, 1_000_000));
        }
        GenerationResult second = spec.generate(request);
        long[] chosenAfter = estimates.snapshot().draftLengthHistogram();

        assertThat(first.stats().draftedTokens()).as("drafted in the first run").isPositive();
        assertThat(second.tokenIds()).containsExactly(first.tokenIds());
        assertThat(second.text()).isEqualTo(first.text());
        // The policy did decide differently: the second run's choices are not the first one's.
        assertThat(second.stats().draftedTokens()).isNotEqualTo(first.stats().draftedTokens());
        assertThat(chosenAfter).isNotEqualTo(chosenBefore);
    }

    @Test
    void seededSpeculativeOutputIsSeededPlainOutputForEveryDraftLength() {
        PlainGenerator plain = new PlainGenerator(TARGET, TOKENIZER, List.of(), 256, null);
        List<Drafter> drafters = List.of(new ModelDrafter("noisy", TinyLlama.model(3, TinyLlama.VOCAB, 2, 0.05)),
                new ModelDrafter("far", TinyLlama.model(8, TinyLlama.VOCAB, 2, 0)), new NgramDrafter(1, 3));
        for (double temperature : new double[] {0.3, 1.0, 2.5}) {
            for (long seed = 1; seed <= 3; seed++) {
                GenerationRequest request = request(temperature, seed);
                int[] expected = plain.generate(request).tokenIds();
                for (Drafter drafter : drafters) {
                    SplittableRandom choices = new SplittableRandom(seed * 31 + (long) (temperature * 10));
                    SpeculativeGenerator spec = new SpeculativeGenerator(TARGET, TOKENIZER, List.of(), 256, drafter,
                            () -> randomLengths(choices), null);
                    for (int g : new int[] {1, 3, 8}) {
                        assertThat(spec.generate(request, new FixedPolicy(g), null).tokenIds())
                                .as("T=%s seed=%d %s γ=%d", temperature, seed, drafter.name(), g)
                                .containsExactly(expected);
                    }
                    assertThat(spec.generate(request).tokenIds())
                            .as("T=%s seed=%d %s, random draft lengths", temperature, seed, drafter.name())
                            .containsExactly(expected);
                }
            }
        }
    }

    /** A policy that picks a random draft length (0 included) every step. */
    static DraftLengthPolicy randomLengths(SplittableRandom random) {
        return new DraftLengthPolicy() {
            @Override
            public int maxDraftTokens() {
                return 8;
            }

            @Override
            public int nextDraftLength(StepContext step) {
                return random.nextInt(step.limit() + 1);
            }

            @Override
            public void observe(StepOutcome outcome) {
            }

            @Override
            public String name() {
                return "random";
            }
        };
    }
}
