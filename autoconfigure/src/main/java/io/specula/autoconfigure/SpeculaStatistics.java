package io.specula.autoconfigure;

import java.util.ArrayList;
import io.specula.speculative.policy.DraftPolicy;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;

import io.specula.speculative.SpeculationSettings;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import org.jspecify.annotations.Nullable;

/**
 * Running speculative decoding statistics of the engine: cumulative counts since start, a window over the most
 * recent speculative steps, and acceptance by draft position. Registered with the engine as a
 * {@link DecodingListener}; read by the Micrometer meters and the {@code speculative} Actuator endpoint. Holds counts
 * only, never prompt or output text. Thread-safe and cheap on the decoding thread.
 */
public class SpeculaStatistics implements DecodingListener {

    /** Speculative steps in the recent window. */
    public static final int DEFAULT_WINDOW = 256;

    private final LongAdder steps = new LongAdder();

    private final LongAdder drafts = new LongAdder();

    private final LongAdder draftedTokens = new LongAdder();

    private final LongAdder acceptedTokens = new LongAdder();

    private final LongAdder emittedTokens = new LongAdder();

    private final LongAdder draftNanos = new LongAdder();

    private final LongAdder verifyNanos = new LongAdder();

    private final LongAdder generatedTokens = new LongAdder();

    private final LongAdder drafterFaults = new LongAdder();

    private final Map<FinishReason, LongAdder> requests = new EnumMap<>(FinishReason.class);

    private final AtomicLongArray draftedByPosition = new AtomicLongArray(DraftPolicy.MAX_DRAFT_TOKENS);

    private final AtomicLongArray acceptedByPosition = new AtomicLongArray(DraftPolicy.MAX_DRAFT_TOKENS);

    /** Highest draft position seen + 1. */
    private final AtomicInteger positions = new AtomicInteger();

    private final int[] windowDrafted;

    private final int[] windowAccepted;

    private int windowNext;

    private int windowSize;

    private long windowDraftedSum;

    private long windowAcceptedSum;

    public SpeculaStatistics() {
        this(DEFAULT_WINDOW);
    }

    public SpeculaStatistics(int window) {
        if (window < 1) {
            throw new IllegalArgumentException("window: expected >= 1, got " + window);
        }
        this.windowDrafted = new int[window];
        this.windowAccepted = new int[window];
        for (FinishReason reason : FinishReason.values()) {
            this.requests.put(reason, new LongAdder());
        }
    }

    @Override
    public void onStep(StepEvent step) {
        this.steps.increment();
        this.verifyNanos.add(step.verifyNanos());
        this.emittedTokens.add(step.emitted());
        if (step.drafted() <= 0) {
            return;
        }
        this.drafts.increment();
        this.draftedTokens.add(step.drafted());
        this.acceptedTokens.add(step.accepted());
        this.draftNanos.add(step.draftNanos());
        int drafted = Math.min(step.drafted(), DraftPolicy.MAX_DRAFT_TOKENS);
        int accepted = Math.min(step.accepted(), drafted);
        for (int i = 0; i < drafted; i++) {
            this.draftedByPosition.incrementAndGet(i);
            if (i < accepted) {
                this.acceptedByPosition.incrementAndGet(i);
            }
        }
        this.positions.accumulateAndGet(drafted, Math::max);
        synchronized (this.windowDrafted) {
            if (this.windowSize == this.windowDrafted.length) {
                this.windowDraftedSum -= this.windowDrafted[this.windowNext];
                this.windowAcceptedSum -= this.windowAccepted[this.windowNext];
            }
            else {
                this.windowSize++;
            }
            this.windowDrafted[this.windowNext] = drafted;
            this.windowAccepted[this.windowNext] = accepted;
            this.windowDraftedSum += drafted;
            this.windowAcceptedSum += accepted;
            this.windowNext = (this.windowNext + 1) % this.windowDrafted.length;
        }
    }

    @Override
    public void onRequestFinished(DecodingStats stats, FinishReason reason) {
        this.requests.get(reason).increment();
        if (stats != null) {
            this.generatedTokens.add(stats.generatedTokens());
        }
    }

    @Override
    public void onDrafterFault(String drafter, Throwable cause) {
        this.drafterFaults.increment();
    }

    /** Requests whose drafter failed (threw, or produced NaN logits) and that finished with the target alone. */
    public long drafterFaults() {
        return this.drafterFaults.sum();
    }

    public long steps() {
        return this.steps.sum();
    }

    public long drafts() {
        return this.drafts.sum();
    }

    public long draftedTokens() {
        return this.draftedTokens.sum();
    }

    public long acceptedTokens() {
        return this.acceptedTokens.sum();
    }

    public long generatedTokens() {
        return this.generatedTokens.sum();
    }

    public long draftNanos() {
        return this.draftNanos.sum();
    }

    public long verifyNanos() {
        return this.verifyNanos.sum();
    }

    public long requests(FinishReason reason) {
        return this.requests.get(reason).sum();
    }

    /** Draft positions seen so far (the largest draft length used). */
    public int positions() {
        return this.positions.get();
    }

    public long draftedAt(int position) {
        return this.draftedByPosition.get(position);
    }

    public long acceptedAt(int position) {
        return this.acceptedByPosition.get(position);
    }

    /** Accepted / drafted tokens over the recent window; NaN before the first draft (the gauge's value). */
    public double recentAcceptanceRate() {
        synchronized (this.windowDrafted) {
            return this.windowDraftedSum == 0 ? Double.NaN : (double) this.windowAcceptedSum / this.windowDraftedSum;
        }
    }

    /** The cumulative figures. */
    public Totals totals() {
        Map<String, Long> byReason = new java.util.LinkedHashMap<>();
        long total = 0;
        for (FinishReason reason : FinishReason.values()) {
            long n = requests(reason);
            byReason.put(reason.name().toLowerCase(java.util.Locale.ROOT), n);
            total += n;
        }
        long drafts = drafts();
        long drafted = draftedTokens();
        long accepted = acceptedTokens();
        return new Totals(total, byReason, generatedTokens(), steps(), drafts, drafted, accepted,
                rate(accepted, drafted), drafts == 0 ? null : 1 + (double) accepted / drafts,
                draftNanos() / 1e9, verifyNanos() / 1e9);
    }

    /** The figures of the recent window. */
    public Recent recent() {
        synchronized (this.windowDrafted) {
            return new Recent(this.windowDrafted.length, this.windowSize, this.windowDraftedSum,
                    this.windowAcceptedSum, rate(this.windowAcceptedSum, this.windowDraftedSum),
                    this.windowSize == 0 ? null : 1 + (double) this.windowAcceptedSum / this.windowSize);
        }
    }

    /** Acceptance by draft position, for the positions seen so far. */
    public List<Position> byPosition() {
        List<Position> list = new ArrayList<>();
        for (int i = 0; i < positions(); i++) {
            long drafted = draftedAt(i);
            long accepted = acceptedAt(i);
            list.add(new Position(i, drafted, accepted, rate(accepted, drafted)));
        }
        return list;
    }

    private static @Nullable Double rate(long accepted, long drafted) {
        return drafted == 0 ? null : (double) accepted / drafted;
    }

    /**
     * Cumulative statistics since start.
     *
     * @param requests             finished requests
     * @param requestsByFinishReason finished requests by finish reason (stop, length, cancelled)
     * @param generatedTokens      output tokens
     * @param steps                target passes after the prompt
     * @param drafts               steps that verified a draft
     * @param draftedTokens        tokens drafted and verified
     * @param acceptedTokens       drafted tokens accepted
     * @param acceptanceRate       accepted / drafted tokens (null before the first draft)
     * @param meanAcceptanceLength 1 + accepted tokens / drafts: tokens per target pass while speculating
     * @param draftSeconds         time spent drafting
     * @param verifySeconds        time spent in target passes after the prompt
     */
    public record Totals(long requests, Map<String, Long> requestsByFinishReason, long generatedTokens, long steps,
            long drafts, long draftedTokens, long acceptedTokens, @Nullable Double acceptanceRate,
            @Nullable Double meanAcceptanceLength, double draftSeconds, double verifySeconds) {
    }

    /**
     * Statistics of the most recent speculative steps.
     *
     * @param window               capacity of the window, in speculative steps
     * @param drafts               speculative steps in the window
     * @param draftedTokens        tokens drafted in the window
     * @param acceptedTokens       drafted tokens accepted in the window
     * @param acceptanceRate       accepted / drafted tokens (null when the window is empty)
     * @param meanAcceptanceLength 1 + accepted tokens / drafts in the window
     */
    public record Recent(int window, int drafts, long draftedTokens, long acceptedTokens,
            @Nullable Double acceptanceRate, @Nullable Double meanAcceptanceLength) {
    }

    /**
     * Acceptance at one draft position (0 = the first drafted token of a step).
     *
     * @param position       draft position
     * @param drafted        steps that drafted a token at this position
     * @param accepted       steps whose token at this position was accepted
     * @param acceptanceRate accepted / drafted
     */
    public record Position(int position, long drafted, long accepted, @Nullable Double acceptanceRate) {
    }
}
