package io.specula.generate;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Draws tokens with randomness keyed to <em>output positions</em>, not consumed from a stream: every draw is a pure
 * function of the request's seed, the output position it decides (0 = the first output token) and a stream number.
 * The same seed and position therefore give the same draw however many draws came before, which is what makes a
 * seeded speculative request reproducible whatever draft lengths its policy chose (the policy decides on measured
 * times, so its choices differ from run to run).
 *
 * <p><b>The draw.</b> {@link #sample} is an exponential race (equivalently, the Gumbel-max trick): every token t with
 * p(t) &gt; 0 gets E(t) = −ln U(t), with U(t) uniform from a hash of (seed, position, stream, t), and the token with the
 * smallest E(t)/p(t) wins. The minimum of independent exponentials with rates p(t) is attained at t with probability
 * p(t)/Σp, so a draw follows p exactly, and draws at different positions or streams are independent. Because the
 * race uses the same U(t) for any distribution, two distributions raced with the same key pick the same token as
 * often as possible without communicating (Daliri et al. 2024, "Coupling without communication": at least
 * (1 − TV)/(1 + TV), TV the total variation distance): {@link io.specula.speculative.verify.CoupledAcceptance} uses that
 * to accept a drafter's token exactly when it is the token plain decoding would have drawn.
 *
 * <p>Cost: one 64-bit hash and one comparison per token with p &gt; 0; a logarithm only for the few tokens that can
 * still win (E(t) &ge; 1 − U(t) bounds them), so about a microsecond per 4,096 tokens.
 *
 * <p>The hash is SplitMix64's finaliser (Steele et al. 2014), a well-tested mixer: the uniforms are as independent as
 * the statistical tests of the sampler can tell (RejectionSamplerTest, CoupledAcceptanceTest, SpeculativeSamplingTest).
 */
public final class TokenSampler {

    /** The stream of the output tokens themselves: plain decoding, bonus tokens, coupled verification. */
    public static final int TOKENS = 0;

    private static final long GOLDEN = 0x9E3779B97F4A7C15L;
    private static final long POSITION_MIX = 0xD1B54A32D192ED03L;
    private static final long STREAM_MIX = 0xABC98388FB8FAC03L;

    private final long seed;

    /** A sampler for a request with this seed; {@code null} draws a random seed (a request that set none). */
    public TokenSampler(Long seed) {
        this.seed = seed != null ? seed : ThreadLocalRandom.current().nextLong();
    }

    /** The seed the draws are keyed to (a random one when the request set none). */
    public long seed() {
        return seed;
    }

    /**
     * Draws an index with probability proportional to {@code p[i]} (p need not sum to 1), keyed to output position
     * {@code position} of stream {@link #TOKENS}.
     *
     * @throws IllegalArgumentException when no entry is positive (all zero, or NaN) or the total is infinite: there is
     *                                  nothing to draw from, and answering token 0 would pass a broken distribution off
     *                                  as a token
     */
    public int sample(float[] p, int position) {
        return sample(p, position, TOKENS);
    }

    /** As {@link #sample(float[], int)}, in another stream: draws independent of the {@link #TOKENS} stream's. */
    public int sample(float[] p, int position, int stream) {
        long key = key(position, stream);
        double best = Double.POSITIVE_INFINITY;
        int winner = -1;
        double total = 0;
        for (int t = 0; t < p.length; t++) {
            float w = p[t];
            if (!(w > 0)) {
                continue;
            }
            total += w;
            double u = unit(mix(key + GOLDEN * (t + 1)));
            // E = -ln u wins if E / w < best, i.e. u > exp(-best * w) >= 1 - best * w: most tokens fail this cheap
            // test once a good candidate is known, and skip the logarithm.
            double bound = best * w;
            if (bound < 1 && u <= 1 - bound) {
                continue;
            }
            double e = -Math.log(u) / w;
            if (e < best) {
                best = e;
                winner = t;
            }
        }
        if (winner < 0 || Double.isInfinite(total)) {
            throw new IllegalArgumentException("cannot sample: the probabilities sum to " + total
                    + " (expected a finite positive total over " + p.length + " tokens)");
        }
        return winner;
    }

    /** A uniform number in (0, 1) keyed to an output position and a stream (one number per key). */
    public double uniform(int position, int stream) {
        return unit(mix(key(position, stream) + GOLDEN));
    }

    /**
     * A sampler whose draws are independent of this one's at every key (a drafter that must not share the target's
     * draws, as rejection sampling requires).
     */
    public TokenSampler independent(long salt) {
        return new TokenSampler(mix(seed ^ mix(salt * GOLDEN + STREAM_MIX)));
    }

    private long key(int position, int stream) {
        return mix(mix(seed + POSITION_MIX * (position + 1L)) ^ (STREAM_MIX * (stream + 1L)));
    }

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** The top 53 bits as a double in (0, 1]: never 0, so −ln u is finite. */
    private static double unit(long bits) {
        return ((bits >>> 11) + 1) * 0x1.0p-53;
    }
}
