package io.specula.speculative.stats;

import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.speculative.policy.DraftPolicy;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The one count of speculative decoding, as vLLM names it ({@code spec_decode_num_drafts}, {@code _num_draft_tokens},
 * {@code _num_accepted_tokens}, {@code _num_accepted_tokens_per_pos}): a {@link DecodingListener} that adds up the
 * steps it hears of. The engine keeps one for its lifetime, whose figures the meters and the Actuator endpoint read;
 * the speculative generator keeps one per request, whose figures become the request's {@link DecodingStats} (the
 * per-response metadata). With a window, it also keeps the last drafts for an acceptance rate that follows the traffic
 * rather than the whole uptime. Lock-free; called from every decoding thread.
 */
public final class SpeculationStatistics implements DecodingListener {

    public static final int DEFAULT_WINDOW = 256;

    private static final int POSITIONS = DraftPolicy.MAX_DRAFT_TOKENS;

    private final LongAdder steps = new LongAdder();
    private final LongAdder drafts = new LongAdder();
    private final LongAdder draftTokens = new LongAdder();
    private final LongAdder acceptedTokens = new LongAdder();
    private final AtomicLongArray acceptedByPosition = new AtomicLongArray(POSITIONS);
    private final AtomicLongArray draftedByPosition = new AtomicLongArray(POSITIONS);
    private final LongAdder generatedTokens = new LongAdder();
    private final LongAdder draftNanos = new LongAdder();
    private final LongAdder verifyNanos = new LongAdder();
    private final LongAdder drafterFaults = new LongAdder();
    private final Map<FinishReason, LongAdder> requests = new EnumMap<>(FinishReason.class);

    /** Ring of the last drafts, each packed as drafted << 32 | accepted (0 = empty slot); empty without a window. */
    private final AtomicLongArray window;
    private final AtomicLong windowNext = new AtomicLong();

    /** Engine-wide figures, with a window over the last {@value #DEFAULT_WINDOW} drafts. */
    public SpeculationStatistics() {
        this(DEFAULT_WINDOW);
    }

    /** @param window drafts kept for the recent figures; 0 keeps none (one request's figures) */
    public SpeculationStatistics(int window) {
        if (window < 0) {
            throw new IllegalArgumentException("window: expected >= 0, got " + window);
        }
        this.window = new AtomicLongArray(window);
        for (FinishReason reason : FinishReason.values()) {
            requests.put(reason, new LongAdder());
        }
    }

    @Override
    public void onStep(StepEvent step) {
        steps.increment();
        draftNanos.add(step.draftNanos());
        verifyNanos.add(step.verifyNanos());
        if (step.drafted() > 0) {
            int drafted = Math.min(step.drafted(), POSITIONS);
            int accepted = Math.min(step.accepted(), drafted);
            drafts.increment();
            draftTokens.add(drafted);
            acceptedTokens.add(accepted);
            for (int i = 0; i < drafted; i++) {
                draftedByPosition.incrementAndGet(i);
                if (i < accepted) {
                    acceptedByPosition.incrementAndGet(i);
                }
            }
            if (window.length() > 0) {
                int slot = (int) (windowNext.getAndIncrement() % window.length());
                window.set(slot, ((long) drafted << 32) | accepted);
            }
        }
    }

    @Override
    public void onRequestFinished(DecodingStats stats, FinishReason reason) {
        requests.get(reason).increment();
        if (stats != null) {
            generatedTokens.add(stats.generatedTokens());
        }
    }

    @Override
    public void onDrafterFault(String drafter, Throwable cause) {
        drafterFaults.increment();
    }

    public long steps() {
        return steps.sum();
    }

    public long drafts() {
        return drafts.sum();
    }

    public long draftTokens() {
        return draftTokens.sum();
    }

    public long acceptedTokens() {
        return acceptedTokens.sum();
    }

    /** Drafts that had a token at draft position {@code position} (0 = the first drafted token). */
    public long draftedAt(int position) {
        return draftedByPosition.get(position);
    }

    /** Drafts whose token at draft position {@code position} was accepted. */
    public long acceptedAt(int position) {
        return acceptedByPosition.get(position);
    }

    public long generatedTokens() {
        return generatedTokens.sum();
    }

    /** Finished requests. */
    public long requests() {
        return requests.values().stream().mapToLong(LongAdder::sum).sum();
    }

    /** Finished requests that ended for this reason. */
    public long requests(FinishReason reason) {
        return requests.get(reason).sum();
    }

    /** Requests whose drafter failed (threw, or produced NaN logits) and that finished with the target alone. */
    public long drafterFaults() {
        return drafterFaults.sum();
    }

    /** Accepted / drafted tokens over the recent window; NaN before the first draft (no figure yet). */
    public double recentAcceptanceRate() {
        return snapshot().recentAcceptanceRate();
    }

    public SpeculationSnapshot snapshot() {
        long recentDrafts = 0;
        long recentDrafted = 0;
        long recentAccepted = 0;
        for (int i = 0; i < window.length(); i++) {
            long v = window.get(i);
            if (v != 0) {
                recentDrafts++;
                recentDrafted += v >>> 32;
                recentAccepted += v & 0xFFFFFFFFL;
            }
        }
        long[] accepted = new long[POSITIONS];
        long[] drafted = new long[POSITIONS];
        for (int i = 0; i < POSITIONS; i++) {
            accepted[i] = acceptedByPosition.get(i);
            drafted[i] = draftedByPosition.get(i);
        }
        Map<FinishReason, Long> byReason = new EnumMap<>(FinishReason.class);
        requests.forEach((reason, n) -> byReason.put(reason, n.sum()));
        return new SpeculationSnapshot(byReason, steps.sum(), drafts.sum(), draftTokens.sum(), acceptedTokens.sum(),
                accepted, drafted, generatedTokens.sum(), draftNanos.sum(), verifyNanos.sum(), drafterFaults.sum(),
                window.length(), recentDrafts, recentDrafted, recentAccepted);
    }

    /**
     * One request's figures (this instance counted that request alone) as its {@link DecodingStats}, with per-position
     * counts for the first {@code positions} draft positions.
     */
    public DecodingStats requestStats(int positions, long generated, long promptNanos, long totalNanos) {
        long[] accepted = new long[positions];
        long[] drafted = new long[positions];
        for (int i = 0; i < Math.min(positions, POSITIONS); i++) {
            accepted[i] = acceptedByPosition.get(i);
            drafted[i] = draftedByPosition.get(i);
        }
        return new DecodingStats(true, steps.sum(), drafts.sum(), draftTokens.sum(), acceptedTokens.sum(), accepted,
                drafted, generated, promptNanos, draftNanos.sum(), verifyNanos.sum(), totalNanos);
    }
}
