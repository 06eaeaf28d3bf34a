package io.specula.speculative.stats;

import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Engine-wide speculative decoding statistics: cumulative counters (vLLM's {@code spec_decode_num_drafts},
 * {@code _num_draft_tokens}, {@code _num_accepted_tokens}, {@code _num_accepted_tokens_per_pos}) plus a window over the
 * last {@value #DEFAULT_WINDOW} drafts for an acceptance-rate gauge that follows the traffic rather than the whole
 * uptime. Lock-free; called from every decoding thread.
 */
public final class SpeculationStatistics implements DecodingListener {

    public static final int DEFAULT_WINDOW = 256;

    private static final int POSITIONS = DraftPolicy.MAX_DRAFT_TOKENS;

    private final LongAdder requests = new LongAdder();
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

    /** Ring of the last drafts, each packed as drafted << 32 | accepted (0 = empty slot). */
    private final AtomicLongArray window;
    private final AtomicLong windowNext = new AtomicLong();

    public SpeculationStatistics() {
        this(DEFAULT_WINDOW);
    }

    public SpeculationStatistics(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("window: expected >= 1, got " + window);
        }
        this.window = new AtomicLongArray(window);
    }

    @Override
    public void onStep(StepEvent step) {
        steps.increment();
        draftNanos.add(step.draftNanos());
        verifyNanos.add(step.verifyNanos());
        if (step.drafted() > 0) {
            drafts.increment();
            draftTokens.add(step.drafted());
            acceptedTokens.add(step.accepted());
            for (int i = 0; i < Math.min(step.drafted(), POSITIONS); i++) {
                draftedByPosition.incrementAndGet(i);
                if (i < step.accepted()) {
                    acceptedByPosition.incrementAndGet(i);
                }
            }
            int slot = (int) (windowNext.getAndIncrement() % window.length());
            window.set(slot, ((long) step.drafted() << 32) | step.accepted());
        }
    }

    @Override
    public void onRequestFinished(DecodingStats stats, FinishReason reason) {
        requests.increment();
        generatedTokens.add(stats.generatedTokens());
    }

    @Override
    public void onDrafterFault(String drafter, Throwable cause) {
        drafterFaults.increment();
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
        return new SpeculationSnapshot(requests.sum(), steps.sum(), drafts.sum(), draftTokens.sum(),
                acceptedTokens.sum(), accepted, drafted, generatedTokens.sum(), draftNanos.sum(), verifyNanos.sum(),
                drafterFaults.sum(), recentDrafts, recentDrafted, recentAccepted);
    }
}
