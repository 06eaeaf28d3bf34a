package io.specula.autoconfigure;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import io.specula.adaptive.AdaptationStatus;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.chat.SpeculaChatOptions;
import io.specula.engine.EngineInfo;
import io.specula.engine.ServingStatus;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.policy.AdaptiveSnapshot;
import io.specula.speculative.stats.SpeculationSnapshot;
import org.jspecify.annotations.Nullable;

import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;

/**
 * The {@code specula} Actuator endpoint ({@code /actuator/specula}; it was {@code speculative} before 0.1.0, renamed so
 * that every name of the starter, properties, meters, health component and endpoint, is {@code specula}): the loaded model pair, where it runs, the speculative decoding
 * configuration, cumulative and recent statistics, and acceptance by draft position. It never shows prompt or
 * completion text.
 */
@Endpoint(id = SpeculativeEndpoint.ID)
public class SpeculativeEndpoint {

    /** The endpoint's id: {@code /actuator/specula}, {@code management.endpoint.specula.*}. */
    public static final String ID = "specula";

    private final SpeculaEngine engine;

    private final @Nullable SpeculaChatOptions defaultOptions;

    private final int maxContextTokens;

    public SpeculativeEndpoint(SpeculaEngine engine, @Nullable SpeculaChatOptions defaultOptions,
            int maxContextTokens) {
        this.engine = engine;
        this.defaultOptions = defaultOptions;
        this.maxContextTokens = maxContextTokens;
    }

    @ReadOperation
    public SpeculativeDescriptor speculative() {
        EngineInfo info = this.engine.info();
        SpeculaChatOptions options = this.defaultOptions;
        Configuration configuration = new Configuration(this.engine.hasDrafter(),
                options != null ? options.getSpeculative() : null, options != null ? options.getDraftTokens() : null,
                options != null && options.getDraftPolicy() != null ? options.getDraftPolicy().configName() : null, this.maxContextTokens);
        SpeculationSnapshot statistics = this.engine.statistics().snapshot();
        return new SpeculativeDescriptor(
                new Models(info.targetName(), info.drafterName(), info.device(), info.dtype(), info.kernel(),
                        info.contextLength()),
                configuration, Totals.of(statistics), Recent.of(statistics), Position.of(statistics),
                serving(this.engine.servingStatus()), statistics.drafterFaults(),
                this.engine.adaptive().map(AdaptiveDrafter::status).orElse(null),
                Policy.of(this.engine.policyEstimates()));
    }

    /**
     * The endpoint's response.
     *
     * @param models               the loaded model pair and where it runs
     * @param configuration        the speculative decoding defaults
     * @param cumulative           statistics since start
     * @param recent               statistics of the most recent speculative steps
     * @param acceptanceByPosition acceptance at each draft position seen so far
     * @param serving              the load: admission queue, KV cache reservation, heartbeat, refusals
     * @param drafterFaults        requests whose drafter failed and that finished with the target alone
     * @param adaptive             the adaptive drafter's learning (versions, examples, steps, loss, acceptance per
     *                             version), or null when the drafter does not adapt
     * @param policy               the adaptive draft policy's choices and the estimates it decides from
     */
    public record SpeculativeDescriptor(Models models, Configuration configuration,
            Totals cumulative, Recent recent, List<Position> acceptanceByPosition, @Nullable Serving serving, long drafterFaults,
            @Nullable AdaptationStatus adaptive, @Nullable Policy policy) {
    }

    /**
     * The default (adaptive) draft policy: what it chose, what it knows and what it would do now.
     *
     * @param drafting                  whether drafting pays by the current estimates
     * @param reason                    why it drafts or not, in words
     * @param expectedSpeedup           expected speed against the target alone of what it would do now (1: not
     *                                  drafting)
     * @param bestSpeedup               expected speed of the best draft length, even one that does not pay
     * @param steps                     decisions taken
     * @param plainStepShare            share of them decoded by the target alone (speculation did not pay)
     * @param probes                    one-token drafts tried while speculation was off
     * @param successfulProbes          probes whose draft token was accepted
     * @param probeInterval             plain steps between probes now (grows while probes fail)
     * @param chosenDraftLengths        index γ: how often the policy chose draft length γ
     * @param acceptanceEstimate        index i: estimated probability that draft position i is accepted given the
     *                                  earlier ones were (a position with little evidence: like the one before it)
     * @param acceptanceEvidence        index i: recent trials behind that estimate (decayed; 0: prior only)
     * @param draftFixedMillis          estimated fixed cost of a draft
     * @param draftMillisPerToken       estimated cost of a draft per drafted token
     * @param catchUpMillisPerToken     estimated cost of catching the drafter up, per token it has not seen
     * @param verifyMillisByWidth       index w-1: estimated cost of a target pass over w positions (0: never measured)
     */
    public record Policy(boolean drafting, String reason, double expectedSpeedup, double bestSpeedup, long steps,
            double plainStepShare, long probes, long successfulProbes, int probeInterval, long[] chosenDraftLengths,
            double[] acceptanceEstimate, double[] acceptanceEvidence, double draftFixedMillis,
            double draftMillisPerToken, double catchUpMillisPerToken, double[] verifyMillisByWidth) {

        static @Nullable Policy of(@Nullable AdaptiveSnapshot s) {
            if (s == null) {
                return null;
            }
            double[] verify = s.verifyNanosByWidth();
            for (int i = 0; i < verify.length; i++) {
                verify[i] /= 1e6;
            }
            AdaptiveSnapshot.Outlook outlook = s.outlook();
            return new Policy(outlook.drafting(), outlook.reason(), outlook.expectedSpeedup(), outlook.bestSpeedup(),
                    s.steps(), s.plainShare(), s.probes(), s.successfulProbes(), s.probeInterval(),
                    s.draftLengthHistogram(), s.acceptanceByPosition(), s.evidenceByPosition(),
                    s.draftFixedNanos() / 1e6, s.draftNanosPerToken() / 1e6, s.catchUpNanosPerToken() / 1e6, verify);
        }
    }

    private static @Nullable Serving serving(@Nullable ServingStatus s) {
        return s == null ? null : new Serving(s.inFlight(), s.queued(), s.maxConcurrentRequests(),
                s.maxQueuedRequests(), s.kvCacheBytesReserved(), s.kvCacheBudgetBytes(),
                s.longestStallNanos() / 1_000_000, s.admitted(), s.rejectedQueueFull(), s.rejectedQueueTimeout(),
                s.rejectedKvCacheBudget(), s.cancelledWhileQueued());
    }

    /**
     * The engine's load (counts only).
     *
     * @param requestsInFlight      requests decoding now
     * @param requestsQueued        requests waiting for a slot
     * @param maxConcurrentRequests configured slots
     * @param maxQueuedRequests     configured queue length
     * @param kvCacheBytesReserved  KV cache reserved by the requests in flight
     * @param kvCacheBudgetBytes    configured budget (0 = no bound)
     * @param longestStallMillis    longest time a request in flight has gone without a decoding step
     * @param admitted              requests admitted since start
     * @param rejectedQueueFull     requests refused: queue full
     * @param rejectedQueueTimeout  requests refused: waited past the queue timeout
     * @param rejectedKvCacheBudget requests refused: KV cache larger than the whole budget
     * @param cancelledWhileQueued  requests whose client went away while they waited
     */
    public record Serving(int requestsInFlight, int requestsQueued, int maxConcurrentRequests, int maxQueuedRequests,
            long kvCacheBytesReserved, long kvCacheBudgetBytes, long longestStallMillis, long admitted,
            long rejectedQueueFull, long rejectedQueueTimeout, long rejectedKvCacheBudget,
            long cancelledWhileQueued) {
    }

    /**
     * The model pair.
     *
     * @param target        the target model's name
     * @param drafter       the drafter's name, "ngram", or "none"
     * @param device        where the models run
     * @param dtype         compute dtype
     * @param kernel        matrix kernel ("vector", "scalar", "djl")
     * @param contextLength longest sequence one request may use
     */
    public record Models(String target, String drafter, String device, String dtype, String kernel,
            int contextLength) {
    }

    /**
     * Speculative decoding defaults (a request may override them).
     *
     * @param drafterLoaded    whether a drafter is loaded
     * @param speculative      whether requests speculate by default
     * @param draftTokens      default largest draft length
     * @param draftPolicy      default draft-length policy
     * @param maxContextTokens configured context bound (0 = the model's)
     */
    public record Configuration(boolean drafterLoaded, @Nullable Boolean speculative, @Nullable Integer draftTokens,
            @Nullable String draftPolicy, int maxContextTokens) {
    }

    private static @Nullable Double rate(long accepted, long drafted) {
        return drafted == 0 ? null : (double) accepted / drafted;
    }

    /**
     * Cumulative statistics since start.
     *
     * @param requests               finished requests
     * @param requestsByFinishReason finished requests by finish reason (stop, length, cancelled)
     * @param generatedTokens        output tokens
     * @param steps                  target passes after the prompt
     * @param drafts                 steps that verified a draft
     * @param draftedTokens          tokens drafted and verified
     * @param acceptedTokens         drafted tokens accepted
     * @param acceptanceRate         accepted / drafted tokens (null before the first draft)
     * @param meanAcceptanceLength   1 + accepted tokens / drafts: tokens per target pass while speculating
     * @param draftSeconds           time spent drafting
     * @param verifySeconds          time spent in target passes after the prompt
     */
    public record Totals(long requests, Map<String, Long> requestsByFinishReason, long generatedTokens, long steps,
            long drafts, long draftedTokens, long acceptedTokens, @Nullable Double acceptanceRate,
            @Nullable Double meanAcceptanceLength, double draftSeconds, double verifySeconds) {

        static Totals of(SpeculationSnapshot s) {
            Map<String, Long> byReason = new LinkedHashMap<>();
            s.requestsByFinishReason().forEach((reason, n) -> byReason.put(reason.name().toLowerCase(Locale.ROOT), n));
            return new Totals(s.requests(), byReason, s.generatedTokens(), s.steps(), s.drafts(), s.draftTokens(),
                    s.acceptedTokens(), rate(s.acceptedTokens(), s.draftTokens()),
                    s.drafts() == 0 ? null : s.meanAcceptanceLength(), s.draftNanos() / 1e9, s.verifyNanos() / 1e9);
        }
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
    public record Recent(int window, long drafts, long draftedTokens, long acceptedTokens,
            @Nullable Double acceptanceRate, @Nullable Double meanAcceptanceLength) {

        static Recent of(SpeculationSnapshot s) {
            return new Recent(s.window(), s.recentDrafts(), s.recentDraftTokens(), s.recentAcceptedTokens(),
                    rate(s.recentAcceptedTokens(), s.recentDraftTokens()),
                    s.recentDrafts() == 0 ? null : s.recentMeanAcceptanceLength());
        }
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

        /** The positions seen so far. */
        static List<Position> of(SpeculationSnapshot s) {
            long[] drafted = s.draftedByPosition();
            long[] accepted = s.acceptedByPosition();
            List<Position> list = new ArrayList<>();
            for (int i = 0; i < s.positions(); i++) {
                list.add(new Position(i, drafted[i], accepted[i], rate(accepted[i], drafted[i])));
            }
            return list;
        }
    }
}
