package io.specula.sample.chat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.specula.autoconfigure.SpeculativeEndpoint;
import io.specula.chat.SpeculaChatOptions;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Measures, once the application is ready, how fast the plain target and speculative decoding generate the same
 * greedy answer to a fixed prompt, and keeps the result for the page ({@code GET /api/stats}). Runs in the
 * background so that the application serves at once.
 *
 * <p>
 * A measurement that a new user can trust: both modes are first warmed up at full length (the JIT, and the draft
 * policy's cost estimates, which the first speculative requests make), then {@code rounds} rounds each run both modes,
 * alternating which goes first, and the figures are medians: the speed of each mode, and the speed-up as the median of
 * the rounds' own ratios (each round's two runs saw the same load). The drafted and accepted tokens of the measured
 * speculative runs are reported with it, and when the policy drafted nothing the result says why (the policy's own
 * reason, from {@code /actuator/speculative}): a speed-up with nothing drafted is not speculation.
 *
 * <p>
 * Speed is the engine's decode rate (output tokens per second after the prompt, from the response metadata): the
 * prompt's own pass is the same in both modes. With greedy decoding the two answers must be identical, and the
 * result says whether they were.
 */
@Component
public class StartupBenchmark {

    private static final Logger logger = LoggerFactory.getLogger(StartupBenchmark.class);

    private final ChatClient chatClient;

    private final SampleProperties.Benchmark settings;

    private final ObjectProvider<SpeculativeEndpoint> endpoint;

    private volatile Result result;

    public StartupBenchmark(ChatClient.Builder chatClientBuilder, SampleProperties properties,
            ObjectProvider<SpeculativeEndpoint> endpoint) {
        this.chatClient = chatClientBuilder.build();
        this.settings = properties.getBenchmark();
        this.endpoint = endpoint;
        this.result = this.settings.isEnabled() ? Result.of("pending", this.settings)
                : Result.of("disabled", this.settings);
    }

    /** The measurement so far: pending, running, done, failed or disabled. */
    public Result result() {
        return this.result;
    }

    @EventListener(ApplicationReadyEvent.class)
    public void start() {
        if (!this.settings.isEnabled()) {
            return;
        }
        Thread thread = new Thread(this::run, "specula-startup-benchmark");
        thread.setDaemon(true);
        thread.start();
    }

    void run() {
        this.result = Result.of("running", this.settings);
        try {
            int tokens = this.settings.getMaxTokens();
            int rounds = Math.max(1, this.settings.getRounds());
            // Warm-up of both modes at full length, so neither mode's measured runs pay for compilation or for the
            // policy's first estimates.
            generate(false, tokens);
            generate(true, tokens);
            List<Run> plain = new ArrayList<>();
            List<Run> speculative = new ArrayList<>();
            double[] ratios = new double[rounds];
            for (int round = 0; round < rounds; round++) {
                // Alternate which mode goes first: a warming (or cooling) machine favours neither.
                Run p;
                Run s;
                if (round % 2 == 0) {
                    p = generate(false, tokens);
                    s = generate(true, tokens);
                }
                else {
                    s = generate(true, tokens);
                    p = generate(false, tokens);
                }
                plain.add(p);
                speculative.add(s);
                ratios[round] = p.tokensPerSecond() > 0 ? s.tokensPerSecond() / p.tokensPerSecond() : 0;
            }
            Mode plainMode = Mode.of(plain);
            Mode speculativeMode = Mode.of(speculative);
            double speedup = median(ratios);
            boolean sameText = plain.stream().allMatch(r -> r.text().equals(plain.get(0).text()))
                    && speculative.stream().allMatch(r -> r.text().equals(plain.get(0).text()));
            String policy = policyReason();
            this.result = new Result("done", this.settings.getPrompt(), tokens, rounds, plainMode, speculativeMode,
                    speedup, sameText, speculativeMode.draftedTokens() == 0 ? policy : null, policy, null);
            logger.info("Start-up benchmark: plain target {} tokens/s, speculative {} tokens/s (medians of {} rounds),"
                    + " speed-up x{}, {} of {} drafted tokens accepted{}",
                    String.format("%.1f", plainMode.tokensPerSecond()),
                    String.format("%.1f", speculativeMode.tokensPerSecond()), rounds, String.format("%.2f", speedup),
                    speculativeMode.acceptedTokens(), speculativeMode.draftedTokens(),
                    speculativeMode.draftedTokens() == 0 && policy != null ? "; draft policy: " + policy : "");
        }
        catch (RuntimeException ex) {
            ErrorBody.log(logger, "Start-up benchmark failed", ex);
            this.result = new Result("failed", this.settings.getPrompt(), this.settings.getMaxTokens(),
                    this.settings.getRounds(), null, null, null, null, null, null, ErrorBody.describe(ex));
        }
    }

    /** The adaptive policy's reason for drafting or not, as the Actuator endpoint reports it; null if unavailable. */
    private @Nullable String policyReason() {
        SpeculativeEndpoint speculativeEndpoint = this.endpoint.getIfAvailable();
        if (speculativeEndpoint == null) {
            return null;
        }
        SpeculativeEndpoint.Policy policy = speculativeEndpoint.speculative().policy();
        return policy != null ? policy.reason() : null;
    }

    private Run generate(boolean speculative, int maxTokens) {
        long start = System.nanoTime();
        ChatResponse response = this.chatClient.prompt()
            .user(this.settings.getPrompt())
            .options(SpeculaChatOptions.builder().temperature(0.0).seed(0L).maxTokens(maxTokens).speculative(speculative))
            .call()
            .chatResponse();
        double seconds = (System.nanoTime() - start) / 1e9;
        ChatAnswer.Statistics statistics = ChatAnswer.Statistics.of(response.getResult().getMetadata());
        Integer tokens = response.getMetadata().getUsage().getCompletionTokens();
        return new Run(Objects.requireNonNullElse(tokens, 0), seconds, statistics.tokensPerSecond(),
                statistics.draftedTokens(), statistics.acceptedTokens(),
                Objects.requireNonNullElse(response.getResult().getOutput().getText(), ""));
    }

    static double median(double[] values) {
        double[] v = values.clone();
        Arrays.sort(v);
        int n = v.length;
        return n == 0 ? 0 : n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    }

    /** One measured generation. */
    record Run(long tokens, double seconds, double tokensPerSecond, long draftedTokens, long acceptedTokens,
            String text) {
    }

    /**
     * One mode over the measured rounds.
     *
     * @param tokens               output tokens per run
     * @param seconds              median wall-clock time of a run, prompt included
     * @param tokensPerSecond      median decode rate (after the prompt)
     * @param draftedTokens        tokens the drafter proposed, all measured runs together (0: plain, or a policy that
     *                             chose not to speculate)
     * @param acceptedTokens       drafted tokens the target accepted, all measured runs together
     * @param acceptanceRate       accepted / drafted tokens (0 when nothing was drafted)
     * @param roundTokensPerSecond the decode rate of each round, in order
     * @param text                 the answer (not shown by the API)
     */
    public record Mode(long tokens, double seconds, double tokensPerSecond, long draftedTokens, long acceptedTokens,
            double acceptanceRate, double[] roundTokensPerSecond, @JsonIgnore String text) {

        static Mode of(List<Run> runs) {
            double[] rates = runs.stream().mapToDouble(Run::tokensPerSecond).toArray();
            long drafted = runs.stream().mapToLong(Run::draftedTokens).sum();
            long accepted = runs.stream().mapToLong(Run::acceptedTokens).sum();
            return new Mode(runs.get(0).tokens(), median(runs.stream().mapToDouble(Run::seconds).toArray()),
                    median(rates), drafted, accepted, drafted == 0 ? 0 : (double) accepted / drafted, rates,
                    runs.get(0).text());
        }
    }

    /**
     * The start-up measurement.
     *
     * @param status      "pending", "running", "done", "failed" or "disabled"
     * @param prompt      the fixed prompt
     * @param maxTokens   tokens per measured run
     * @param rounds      measured rounds (each one plain and one speculative run)
     * @param plain       the plain target over the rounds
     * @param speculative speculative decoding over the rounds
     * @param speedup     the median of the rounds' speculative / plain decode rates
     * @param sameText    whether every run gave the same (greedy) answer, as they must
     * @param notDrafting why the draft policy drafted nothing in the measured runs (absent when it drafted)
     * @param policy      the draft policy's own account of what it does now and why (absent without the endpoint)
     * @param error       why the measurement failed
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Result(String status, String prompt, int maxTokens, int rounds, @Nullable Mode plain,
            @Nullable Mode speculative, @Nullable Double speedup, @Nullable Boolean sameText,
            @Nullable String notDrafting, @Nullable String policy, @Nullable String error) {

        static Result of(String status, SampleProperties.Benchmark settings) {
            return new Result(status, settings.getPrompt(), settings.getMaxTokens(), settings.getRounds(), null, null,
                    null, null, null, null, null);
        }
    }
}
