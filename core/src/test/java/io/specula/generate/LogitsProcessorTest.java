package io.specula.generate;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The processed distribution at the edges of its parameters: temperatures down to the smallest positive double and up
 * to the largest, infinite logits, and top-k/top-p at their limits. Every case must give a probability vector (finite,
 * non-negative, summing to 1) equal to softmax(logits / T) computed exactly, and a draw from it must come from its
 * support, never token 0 because the vector was NaN (issue 19, item 3: temperature 1e-320 answered 20 × token 0).
 */
class LogitsProcessorTest {

    /** The largest logit is at id 3, never 0, so an accidental token 0 cannot pass for the right answer. */
    static final float[] LOGITS = {0.5f, -1.25f, 2.0f, 3.5f, 0f, -7f, 3.25f, 1f};
    static final int ARGMAX = 3;

    static SamplingParams temperature(double t) {
        return new SamplingParams(t, 0, 1, 42L, 0, 0);
    }

    /** softmax((l - max) / T) in double precision: the distribution the processor must reproduce. */
    static double[] reference(float[] logits, double t) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < logits.length; i++) {
            p[i] = Math.exp((logits[i] - max) / t);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        return p;
    }

    static void assertDistribution(float[] p) {
        double sum = 0;
        for (float v : p) {
            assertThat(v).as("probability").isFinite().isGreaterThanOrEqualTo(0f);
            sum += v;
        }
        assertThat(sum).as("sum of probabilities").isCloseTo(1.0, within(1e-5));
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e-320, Double.MIN_VALUE, 1e-310, 1e-300, 1e-200, 1e-46, 1e-45, 1e-39, 1e-38, 1e-30,
            1e-10, 1e-4})
    void tinyTemperaturesPutAllMassOnTheArgmax(double t) {
        LogitsProcessor processor = new LogitsProcessor(temperature(t));
        float[] p = processor.probabilities(LOGITS, null);
        assertDistribution(p);
        assertThat(p[ARGMAX]).isEqualTo(1f);
        TokenSampler sampler = new TokenSampler(7L);
        for (int i = 0; i < 50; i++) {
            assertThat(sampler.sample(p, i)).isEqualTo(ARGMAX);
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e-320, 1e-45, 1e-30})
    void tinyTemperaturesSplitAnExactTieEvenly(double t) {
        // The limit of softmax(l / T) as T -> 0 is uniform over the maxima: sampling, not greedy's lowest id.
        float[] logits = {1f, 4f, -2f, 4f};
        float[] p = new LogitsProcessor(temperature(t)).probabilities(logits, null);
        assertDistribution(p);
        assertThat(p).containsExactly(0f, 0.5f, 0f, 0.5f);
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e-6, 1e-3, 0.01, 0.7, 1, 1.3, 10})
    void smallAndOrdinaryTemperaturesAreExact(double t) {
        // Logits 1e-3 apart: at T = 1e-3 the runner-up keeps e^-1 of the top's weight, so no fixed "treat as greedy"
        // threshold would be exact; the processor must compute the real distribution.
        float[] logits = {0f, 1f, 1.001f, 0.999f, -3f, 0.5f};
        float[] p = new LogitsProcessor(temperature(t)).probabilities(logits, null);
        assertDistribution(p);
        double[] expected = reference(logits, t);
        for (int i = 0; i < p.length; i++) {
            assertThat((double) p[i]).as("p[%d] at T=%s", i, t).isCloseTo(expected[i], within(2e-6));
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e30, 1e39, 1e300, Double.MAX_VALUE})
    void hugeTemperaturesAreUniformOverTheTokensThatCanOccur(double t) {
        // -inf logits (tokens the model rules out, e.g. the drafter's missing rows) stay impossible: -inf * 0 is NaN.
        float[] logits = {2f, Float.NEGATIVE_INFINITY, -3f, 40f, Float.NEGATIVE_INFINITY, 0f};
        float[] p = new LogitsProcessor(temperature(t)).probabilities(logits, null);
        assertDistribution(p);
        assertThat(p).containsExactly(0.25f, 0f, 0.25f, 0.25f, 0f, 0.25f);
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e-320, 1e-30, 0.5, 1, 1e30, 1e300})
    void infiniteLogitsNeverGiveNaN(double t) {
        float inf = Float.POSITIVE_INFINITY;
        float[] plusInf = {1f, inf, 3f, inf, Float.NEGATIVE_INFINITY};
        float[] p = new LogitsProcessor(temperature(t)).probabilities(plusInf, null);
        assertDistribution(p);
        assertThat(p).containsExactly(0f, 0.5f, 0f, 0.5f, 0f);

        // NaN logits count as impossible, as in argmax.
        float[] withNaN = {Float.NaN, 2f, Float.NaN, 2f};
        float[] q = new LogitsProcessor(temperature(t)).probabilities(withNaN, null);
        assertDistribution(q);
        assertThat(q[0]).isZero();
        assertThat(q[2]).isZero();

        // No token possible at all: a model fault, reported as such rather than sampled as token 0.
        float[] nothing = {Float.NEGATIVE_INFINITY, Float.NaN, Float.NEGATIVE_INFINITY};
        assertThatThrownBy(() -> new LogitsProcessor(temperature(t)).probabilities(nothing, null))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("no token");
    }

    @Test
    void hugePenaltiesNeverGiveNaN() {
        // A presence penalty of -1e300 pushes a seen token's logit to +inf in float; one of +1e300 to -inf.
        TokenCounts history = new TokenCounts(LOGITS.length);
        history.add(5);
        for (double penalty : new double[] {-1e300, 1e300, -Double.MAX_VALUE, Double.MAX_VALUE}) {
            for (double t : new double[] {1e-320, 1, 1e300}) {
                float[] p = new LogitsProcessor(new SamplingParams(t, 0, 1, 1L, 0, penalty))
                        .probabilities(LOGITS, history);
                assertDistribution(p);
                if (penalty < 0) {
                    assertThat(p[5]).as("penalty %s, T %s", penalty, t).isEqualTo(1f);
                } else {
                    assertThat(p[5]).as("penalty %s, T %s", penalty, t).isZero();
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(doubles = {1e-320, 1e-30, 0.8, 1e300})
    void topKAtItsLimits(double t) {
        // top-k ranks the logits themselves: at T = 1e-320 every scaled logit but the largest is -inf, and a top-k
        // over those would keep them all as a tie.
        float[] k1 = new LogitsProcessor(new SamplingParams(t, 1, 1, 1L, 0, 0)).probabilities(LOGITS, null);
        assertDistribution(k1);
        assertThat(k1[ARGMAX]).isEqualTo(1f);

        float[] k2 = new LogitsProcessor(new SamplingParams(t, 2, 1, 1L, 0, 0)).probabilities(LOGITS, null);
        assertDistribution(k2);
        for (int i = 0; i < LOGITS.length; i++) {
            if (i != ARGMAX && i != 6) {
                assertThat(k2[i]).as("token %d outside the top 2 at T=%s", i, t).isZero();
            }
        }
        if (t >= 1e300) {
            assertThat(k2[ARGMAX]).isCloseTo(0.5f, within(1e-6f));
            assertThat(k2[6]).isCloseTo(0.5f, within(1e-6f));
        }
        for (int k : new int[] {LOGITS.length, LOGITS.length + 1, Integer.MAX_VALUE}) {
            float[] all = new LogitsProcessor(new SamplingParams(0.8, k, 1, 1L, 0, 0)).probabilities(LOGITS, null);
            float[] none = new LogitsProcessor(new SamplingParams(0.8, 0, 1, 1L, 0, 0)).probabilities(LOGITS, null);
            assertThat(all).as("top-k %d keeps every token", k).containsExactly(none);
        }
    }

    @Test
    void topPAtItsLimits() {
        // The smallest positive top-p keeps only the most likely token.
        float[] tiny = new LogitsProcessor(new SamplingParams(0.8, 0, Double.MIN_VALUE, 1L, 0, 0))
                .probabilities(LOGITS, null);
        assertDistribution(tiny);
        assertThat(tiny[ARGMAX]).isEqualTo(1f);
        // Just below 1 keeps (nearly) everything, and never loses the distribution to rounding.
        float[] almostOne = new LogitsProcessor(new SamplingParams(0.8, 0, Math.nextDown(1.0), 1L, 0, 0))
                .probabilities(LOGITS, null);
        assertDistribution(almostOne);
        assertThat(almostOne[ARGMAX]).isGreaterThan(0f).isLessThan(1f);
        // Equal logits: top-p 0.5 keeps the first half of the sorted order (ties by ascending id).
        float[] flat = new LogitsProcessor(new SamplingParams(1, 0, 0.5, 1L, 0, 0))
                .probabilities(new float[] {1f, 1f, 1f, 1f}, null);
        assertThat(flat).containsExactly(0.5f, 0.5f, 0f, 0f);
        // At a tiny temperature every top-p keeps the argmax alone.
        for (double topP : new double[] {Double.MIN_VALUE, 0.5, 0.999}) {
            float[] p = new LogitsProcessor(new SamplingParams(1e-320, 0, topP, 1L, 0, 0)).probabilities(LOGITS, null);
            assertDistribution(p);
            assertThat(p[ARGMAX]).isEqualTo(1f);
        }
    }

    @Test
    void aDrawFromAVectorWithoutMassIsAnErrorNotTokenZero() {
        TokenSampler sampler = new TokenSampler(1L);
        assertThatThrownBy(() -> sampler.sample(new float[] {Float.NaN, Float.NaN, Float.NaN}, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("probabilit");
        assertThatThrownBy(() -> sampler.sample(new float[] {0f, 0f}, 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("probabilit");
    }
}
