package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.speculative.drafter.Draft;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Speculative sampling must emit tokens distributed exactly as the target's processed distribution p, whatever the
 * drafter's q, under both sampling rules: {@link RejectionSampler} (unseeded requests) and {@link CoupledAcceptance}
 * (seeded ones). Checked with Pearson's chi-square test on a vocabulary of 8, for drafts of 2 tokens:
 * <ul>
 *   <li>the first emitted token against p(· | history);</li>
 *   <li>the second emitted token, in steps whose first draft was accepted as x, against p(· | history + x) — pooled
 *       over x (given the first tokens, the second ones are independent draws), which also checks that penalties see
 *       the earlier draft of the same step.</li>
 * </ul>
 * Cells with expected count below 5 are merged; cells with p = 0 must stay empty (asserted exactly). Each trial is a
 * request of its own seed; the draws are keyed to output positions 0 and 1 ({@link TokenSampler}), and the drafter
 * draws with the sampler the rule asks for ({@link AcceptanceRule#drafterSampler}): an independent one for rejection
 * sampling, the request's own for the coupled rule.
 *
 * <p>False-failure rate: each assertion rejects when the p-value is below {@value #ALPHA}; the p-value is the exact
 * chi-square upper tail (regularized incomplete gamma, {@link ChiSquare}, itself checked against tabulated critical
 * values), so a correct sampler fails one assertion with probability 1e-4, and the 60 distribution assertions here (24
 * cases and 6 huge-temperature cases, two each) with at most 0.6% (union bound) for a random seed. The seeds are fixed, so the outcome is deterministic. The test
 * has power: {@link #detectsAWrongResidual()} shows that sampling the rejection from p instead of max(0, p − q) fails
 * with a p-value below 1e-10.
 */
class RejectionSamplerTest {

    static final double ALPHA = 1e-4;
    static final int V = 8;
    static final int TRIALS = 60_000;

    static final float[][] TARGET = {
            {2.0f, 0.5f, 1.5f, -1.0f, 0.8f, -3.0f, 1.1f, -8.0f},
            {0.3f, 1.8f, -0.5f, 1.2f, 0.9f, -2.0f, 0.0f, -9.0f},
            {1.0f, 1.0f, 0.2f, -0.4f, 0.6f, 0.1f, -1.5f, -7.0f}};

    /** Close to the target: small perturbations. */
    static final float[][] CLOSE = {
            {1.8f, 0.7f, 1.4f, -0.8f, 0.6f, -2.9f, 1.3f, -8.0f},
            {0.5f, 1.6f, -0.3f, 1.3f, 0.7f, -2.2f, 0.2f, -9.0f}};

    /** Far from the target: other favourites, overlapping only partly. */
    static final float[][] FAR = {
            {0.5f, 1.5f, -0.5f, 1.5f, 2.0f, -3.0f, 0.0f, -8.0f},
            {1.5f, -0.5f, 0.5f, 0.0f, 2.0f, -1.0f, 1.2f, -9.0f}};

    /** All mass on token 7, which the target never emits (its logit is far below the rest, cut by top-k/top-p). */
    static final float[][] DISJOINT = {
            {0f, 0f, 0f, 0f, 0f, 0f, 0f, 40f},
            {0f, 0f, 0f, 0f, 0f, 0f, 0f, 40f}};

    static Stream<Arguments> cases() {
        List<SamplingParams> params = List.of(
                new SamplingParams(0.8, 5, 0.9, null, 0, 0),
                new SamplingParams(1.3, 6, 0.95, null, 0.4, 0.3),
                new SamplingParams(0.9, 0, 0.92, null, 0.7, 0.0));
        List<Arguments> out = new ArrayList<>();
        long seed = 1;
        for (AcceptanceRule rule : List.of(RejectionSampler.INSTANCE, CoupledAcceptance.INSTANCE)) {
            for (SamplingParams p : params) {
                out.add(Arguments.of("close", p, CLOSE, seed++, rule));
                out.add(Arguments.of("far", p, FAR, seed++, rule));
                out.add(Arguments.of("disjoint", p, DISJOINT, seed++, rule));
                out.add(Arguments.of("one-hot (n-gram)", p, null, seed++, rule));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} q, {1}, {4}")
    @MethodSource("cases")
    void emitsTheTargetDistribution(String kind, SamplingParams params, float[][] drafter, long seed,
                                    AcceptanceRule rule) {
        Result r = simulate(params, drafter, seed, rule);
        assertThat(r.firstPValue).as("first token, p-value").isGreaterThan(ALPHA);
        assertThat(r.secondPValue).as("second token given the first draft accepted, p-value").isGreaterThan(ALPHA);
        assertThat(r.impossible).as("tokens emitted with p = 0").isZero();
        assertThat(r.firstDf).as("degrees of freedom, first token").isPositive();
        if (!kind.equals("disjoint")) {
            assertThat(r.secondDf).as("degrees of freedom, second token").isPositive();
        }
        if (drafter != null) {
            // P(accept first draft): Σ min(p, q) for rejection sampling, the race's coupling for the coupled rule.
            double sd = Math.sqrt(r.expectedAcceptance * (1 - r.expectedAcceptance) / TRIALS);
            assertThat(r.firstAccepted / (double) TRIALS).isCloseTo(r.expectedAcceptance,
                    org.assertj.core.api.Assertions.within(6 * sd + 1e-9));
        }
        if (kind.equals("disjoint")) {
            assertThat(r.firstAccepted).isZero();
        }
    }

    @Test
    void detectsAWrongResidual() {
        // Rejections sampled from p rather than max(0, p − q): biased towards the tokens q favours too.
        AcceptanceRule wrong = new AcceptanceRule() {
            @Override
            public Verdict judge(float[][] logits, Draft draft, int position, LogitsProcessor processor,
                                 TokenCounts history, TokenSampler sampler) {
                float[] p = processor.probabilities(logits[0], history);
                int x = draft.tokens()[0];
                if (sampler.uniform(position, 1) * draft.qOf(0) < p[x]) {
                    return new Verdict(1, sampler.sample(processor.probabilities(logits[1], history), position + 1));
                }
                return new Verdict(0, sampler.sample(p, position));
            }

            @Override
            public TokenSampler drafterSampler(TokenSampler requestSampler) {
                return requestSampler.independent(3);
            }
        };
        // q favours token 0, which p likes too: the wrong rule over-emits it.
        float[][] overlapping = {{3f, 0f, 0f, 0f, 0f, 0f, 0f, 0f}, {3f, 0f, 0f, 0f, 0f, 0f, 0f, 0f}};
        Result r = simulate(new SamplingParams(0.8, 5, 0.9, null, 0, 0), overlapping, 99, wrong);
        assertThat(r.firstPValue).isLessThan(1e-10);
    }

    /**
     * At a temperature as small as 1e-320 p is one-hot at the target's argmax, so speculative sampling must emit
     * exactly the argmax at every position, whatever the drafter proposed (its q one-hot at its own argmax, or an
     * n-gram draft), and never token 0 (the argmaxes here are 3 and 1). Before issue 19's fix p was NaN, nothing was
     * ever accepted and every emitted token was 0.
     */
    static Stream<Arguments> tinyTemperatures() {
        List<Arguments> out = new ArrayList<>();
        for (AcceptanceRule rule : List.of(RejectionSampler.INSTANCE, CoupledAcceptance.INSTANCE)) {
            for (double t : new double[] {1e-320, 1e-45, 1e-30}) {
                out.add(Arguments.of(t, rule));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "T = {0}, {1}")
    @MethodSource("tinyTemperatures")
    void tinyTemperatureEmitsTheTargetsArgmax(double temperature, AcceptanceRule rule) {
        float[][] target = {
                {0.3f, 1.8f, -0.5f, 2.2f, 0.9f, -2.0f, 0.0f, -9.0f},
                {1.0f, 1.9f, 0.2f, -0.4f, 0.6f, 0.1f, -1.5f, -7.0f},
                {0.5f, 0.1f, 0.2f, 0.0f, 2.6f, 0.1f, -1.5f, -7.0f}};
        LogitsProcessor processor = new LogitsProcessor(new SamplingParams(temperature, 0, 1, null, 0, 0));
        for (float[][] drafter : new float[][][] {CLOSE, FAR, DISJOINT, null}) {
            for (int trial = 0; trial < 200; trial++) {
                TokenSampler sampler = new TokenSampler(5L + trial);
                TokenCounts history = new TokenCounts(V);
                Draft draft = draft(processor, history, drafter, rule.drafterSampler(sampler), trial);
                Verdict v = rule.judge(target, draft, 0, processor, history, sampler);
                int[] expected = {3, 1, 4};
                for (int i = 0; i < v.accepted(); i++) {
                    assertThat(draft.tokens()[i]).as("accepted draft %d", i).isEqualTo(expected[i]);
                }
                assertThat(v.nextToken()).as("token after %d accepted", v.accepted()).isEqualTo(expected[v.accepted()]);
            }
        }
    }

    /**
     * At a huge temperature p is uniform over the tokens top-k keeps (5 of 8 here): speculative sampling must still
     * follow it (before issue 19's fix the scaled logits were 0 * logit, so top-k kept every token).
     */
    static Stream<Arguments> hugeTemperatureCases() {
        List<Arguments> out = new ArrayList<>();
        for (AcceptanceRule rule : List.of(RejectionSampler.INSTANCE, CoupledAcceptance.INSTANCE)) {
            for (String kind : List.of("close", "far", "one-hot (n-gram)")) {
                out.add(Arguments.of(kind, rule));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} q, {1}")
    @MethodSource("hugeTemperatureCases")
    void hugeTemperatureEmitsTheTargetDistribution(String kind, AcceptanceRule rule) {
        SamplingParams params = new SamplingParams(1e300, 5, 1, null, 0, 0);
        float[][] drafter = switch (kind) {
            case "close" -> CLOSE;
            case "far" -> FAR;
            default -> null;
        };
        float[] p = new LogitsProcessor(params).probabilities(TARGET[0], null);
        int kept = 0;
        for (float v : p) {
            if (v > 0) {
                assertThat(v).isCloseTo(0.2f, org.assertj.core.api.Assertions.within(1e-6f));
                kept++;
            }
        }
        assertThat(kept).isEqualTo(5);
        Result r = simulate(params, drafter, 4242 + kind.length(), rule);
        assertThat(r.firstPValue).as("first token, p-value").isGreaterThan(ALPHA);
        assertThat(r.secondPValue).as("second token given the first draft accepted, p-value").isGreaterThan(ALPHA);
        assertThat(r.impossible).as("tokens emitted with p = 0").isZero();
    }

    record Result(double firstPValue, int firstDf, double secondPValue, int secondDf, long impossible,
                  long firstAccepted, double expectedAcceptance) {
    }

    static Result simulate(SamplingParams params, float[][] drafter, long seed, AcceptanceRule rule) {
        return simulate(params, drafter, seed, rule, null);
    }

    /**
     * Structured output's rule: a mask that depends on the output before the position, applied to p and q alike
     * (through the history), keeps speculative sampling exact for the masked target distribution.
     */
    @ParameterizedTest(name = "{0} q")
    @ValueSource(strings = {"close", "far", "one-hot (n-gram)"})
    void aConstraintOnTheOutputKeepsSpeculativeSamplingExact(String kind) {
        float[][] drafter = switch (kind) {
            case "close" -> CLOSE;
            case "far" -> FAR;
            default -> null;
        };
        SamplingParams params = new SamplingParams(0.9, 0, 1, null, 0, 0);
        Result r = simulate(params, drafter, 777 + kind.length(), RejectionSampler.INSTANCE, ParityConstraint::new);
        assertThat(r.firstPValue).as("first token, p-value").isGreaterThan(ALPHA);
        assertThat(r.secondPValue).as("second token given the first draft accepted, p-value").isGreaterThan(ALPHA);
        assertThat(r.impossible).as("tokens the constraint excludes were emitted").isZero();
    }

    /** Even output lengths allow the even tokens and 3, odd ones the odd tokens and 4: the mask follows the output. */
    static final class ParityConstraint implements io.specula.generate.TokenConstraint {
        private int depth;

        ParityConstraint(int maxTokens, java.util.Set<Integer> eos) {
        }

        @Override
        public float[] mask(float[] logits) {
            float[] masked = logits.clone();
            for (int t = 0; t < masked.length; t++) {
                boolean allowed = t % 2 == depth % 2 || t == (depth % 2 == 0 ? 3 : 4);
                if (!allowed) {
                    masked[t] = Float.NEGATIVE_INFINITY;
                }
            }
            return masked;
        }

        @Override
        public void push(int token) {
            depth++;
        }

        @Override
        public void pop() {
            depth--;
        }
    }

    static Result simulate(SamplingParams params, float[][] drafter, long seed, AcceptanceRule rule,
                           io.specula.generate.TokenConstraint.Factory constraint) {
        LogitsProcessor processor = new LogitsProcessor(params);
        TokenCounts history = constraint == null ? new TokenCounts(V)
                : new TokenCounts(V, constraint.start(100, java.util.Set.of()));
        history.add(1);
        history.add(1);
        history.add(4);

        float[] p0 = processor.probabilities(TARGET[0], history);
        long[] first = new long[V];
        long[][] second = new long[V][V];
        long firstAccepted = 0;
        for (int trial = 0; trial < TRIALS; trial++) {
            TokenSampler sampler = new TokenSampler(seed * 1_000_003L + trial);
            Draft draft = draft(processor, history, drafter, rule.drafterSampler(sampler), trial);
            Verdict v = rule.judge(TARGET, draft, 0, processor, history, sampler);
            int t1 = v.accepted() >= 1 ? draft.tokens()[0] : v.nextToken();
            first[t1]++;
            if (v.accepted() >= 1) {
                firstAccepted++;
                int t2 = v.accepted() >= 2 ? draft.tokens()[1] : v.nextToken();
                second[t1][t2]++;
            }
        }
        long impossible = 0;
        Pearson firstTest = new Pearson();
        firstTest.addGroup(first, p0, TRIALS);
        impossible += firstTest.impossible;
        Pearson secondTest = new Pearson();
        for (int x = 0; x < V; x++) {
            long n = 0;
            for (long c : second[x]) {
                n += c;
            }
            if (n == 0) {
                continue;
            }
            history.add(x);
            float[] p1 = processor.probabilities(TARGET[1], history);
            history.remove(x);
            secondTest.addGroup(second[x], p1, n);
        }
        impossible += secondTest.impossible;
        double expectedAcceptance = 0;
        if (drafter != null) {
            float[] q0 = processor.probabilities(drafter[0], history);
            expectedAcceptance = rule instanceof CoupledAcceptance ? raceCoupling(p0, q0) : overlap(p0, q0);
        }
        return new Result(firstTest.pValue(), firstTest.df, secondTest.pValue(), secondTest.df, impossible,
                firstAccepted, expectedAcceptance);
    }

    /** Σ min(p, q): how often rejection sampling accepts a draft drawn from q. */
    static double overlap(float[] p, float[] q) {
        double sum = 0;
        for (int i = 0; i < p.length; i++) {
            sum += Math.min(p[i], q[i]);
        }
        return sum;
    }

    /**
     * How often two exponential races with the same draws pick the same token: t wins both iff E_s ≥ E_t max(p_s/p_t,
     * q_s/q_t) for every s, which has probability 1 / Σ_s max(p_s/p_t, q_s/q_t).
     */
    static double raceCoupling(float[] p, float[] q) {
        double sum = 0;
        for (int t = 0; t < p.length; t++) {
            if (p[t] > 0 && q[t] > 0) {
                double rates = 0;
                for (int s = 0; s < p.length; s++) {
                    rates += Math.max(p[s] / p[t], q[s] / q[t]);
                }
                sum += 1 / rates;
            }
        }
        return sum;
    }

    /** Two draft tokens from the drafter's processed q (history includes the first for the second), or fixed ones. */
    static Draft draft(LogitsProcessor processor, TokenCounts history, float[][] drafter, TokenSampler sampler,
                       int trial) {
        if (drafter == null) {
            // A deterministic drafter (q one-hot), cycling through proposals so every path gets exercised.
            return new Draft(new int[] {trial % 7, (trial / 7) % 7}, null, 0);
        }
        float[] q0 = processor.probabilities(drafter[0], history);
        int d1 = sampler.sample(q0, 0);
        history.add(d1);
        float[] q1 = processor.probabilities(drafter[1], history);
        history.remove(d1);
        int d2 = sampler.sample(q1, 1);
        return new Draft(new int[] {d1, d2}, new float[][] {q0, q1}, 0);
    }
}
