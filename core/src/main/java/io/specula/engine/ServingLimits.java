package io.specula.engine;

import io.specula.EngineBusyException;
import io.specula.FieldErrors;

import java.time.Duration;

/**
 * Bounds on the engine under load, and their rules (the constructor reports every bound at fault, named as
 * {@code spring.ai.specula.*} names it). Requests run on their callers' threads; at most {@code maxConcurrentRequests} of
 * them decode at once, up to {@code maxQueuedRequests} more wait (first come, first served) for at most
 * {@code queueTimeout}, and anything beyond that is refused at once with an {@link EngineBusyException}: load never
 * piles up without bound.
 *
 * @param maxConcurrentRequests sequences decoding at once, >= 1
 * @param maxQueuedRequests     requests waiting for a slot, >= 0 (0: refuse when every slot is taken)
 * @param queueTimeout          longest wait for a slot; a request still waiting then is refused
 * @param kvCacheBudgetBytes    KV cache memory (target + drafter caches) reserved by the requests in flight, together;
 *                              0 = no bound. A request reserves what its whole sequence (prompt + max tokens, plus
 *                              the positions of one verification pass) may use; one that does not fit the budget even
 *                              alone is refused, one that does not fit beside the others waits in the queue
 * @param maxTokensCap          largest {@code maxTokens} a request may ask for; 0 = no cap (the context window)
 * @param shutdownGracePeriod   how long closing the engine lets the requests in flight finish before it stops them
 *                              (each then ends with an error at its next decoding step); models and tokenizers are
 *                              closed only once no request uses them
 * @param prefillChunkTokens    the most prompt tokens one forward pass takes: a longer prompt is prefilled in chunks
 *                              of this size, so the pass's working memory (activations, the attention mask on DJL) is
 *                              bounded by it rather than by the prompt
 */
public record ServingLimits(int maxConcurrentRequests, int maxQueuedRequests, Duration queueTimeout,
                            long kvCacheBudgetBytes, int maxTokensCap, Duration shutdownGracePeriod,
                            int prefillChunkTokens) {

    /** The default {@code shutdownGracePeriod}. */
    public static final Duration DEFAULT_SHUTDOWN_GRACE_PERIOD = Duration.ofSeconds(10);

    /** The default {@code prefillChunkTokens}, llama.cpp's default physical batch ({@code n_ubatch}). */
    public static final int DEFAULT_PREFILL_CHUNK_TOKENS = 512;

    public static final ServingLimits DEFAULT = new ServingLimits(4, 64, Duration.ofSeconds(30), 0, 0);

    /** No bounds worth the name: for tools that drive the engine themselves. */
    public static final ServingLimits UNBOUNDED = new ServingLimits(Integer.MAX_VALUE, 0, Duration.ZERO, 0, 0);

    /** With the default shutdown grace period and prefill chunk. */
    public ServingLimits(int maxConcurrentRequests, int maxQueuedRequests, Duration queueTimeout,
                         long kvCacheBudgetBytes, int maxTokensCap) {
        this(maxConcurrentRequests, maxQueuedRequests, queueTimeout, kvCacheBudgetBytes, maxTokensCap,
                DEFAULT_SHUTDOWN_GRACE_PERIOD, DEFAULT_PREFILL_CHUNK_TOKENS);
    }

    public ServingLimits {
        FieldErrors errors = new FieldErrors();
        errors.check("maxConcurrentRequests", maxConcurrentRequests, n -> n >= 1, "expected an integer >= 1");
        errors.check("maxQueuedRequests", maxQueuedRequests, n -> n >= 0,
                "expected an integer >= 0 (0 = no queue: refuse when every slot is taken)");
        if (queueTimeout == null || queueTimeout.isNegative()) {
            errors.add("queueTimeout", "expected a duration >= 0, e.g. 30s, got " + queueTimeout);
        }
        errors.check("kvCacheBudget", kvCacheBudgetBytes, b -> b >= 0,
                "expected 0 (no bound) or a positive size in bytes, e.g. 512MB");
        errors.check("maxTokensCap", maxTokensCap, c -> c >= 0, "expected 0 (no cap) or a positive integer");
        if (shutdownGracePeriod == null || shutdownGracePeriod.isNegative()) {
            errors.add("shutdownGracePeriod", "expected a duration >= 0, e.g. 10s, got " + shutdownGracePeriod);
        }
        errors.check("prefillChunkTokens", prefillChunkTokens, n -> n >= 1, "expected an integer >= 1, e.g. 512");
        errors.throwIfAny();
    }

    /** These limits with another shutdown grace period. */
    public ServingLimits withShutdownGracePeriod(Duration grace) {
        return new ServingLimits(maxConcurrentRequests, maxQueuedRequests, queueTimeout, kvCacheBudgetBytes,
                maxTokensCap, grace, prefillChunkTokens);
    }

    /** These limits with another prefill chunk size. */
    public ServingLimits withPrefillChunkTokens(int tokens) {
        return new ServingLimits(maxConcurrentRequests, maxQueuedRequests, queueTimeout, kvCacheBudgetBytes,
                maxTokensCap, shutdownGracePeriod, tokens);
    }

    /** The rule of the max-tokens cap: a request may ask for at most {@code cap} tokens (0: no cap). */
    public static void checkMaxTokens(Integer maxTokens, int cap, FieldErrors errors) {
        if (cap > 0) {
            errors.check("maxTokens", maxTokens, m -> m <= cap, "expected at most " + cap + " (max-tokens-cap)");
        }
    }
}
