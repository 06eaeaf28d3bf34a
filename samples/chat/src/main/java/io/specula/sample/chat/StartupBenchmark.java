package io.specula.sample.chat;

import java.util.Objects;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import io.specula.chat.SpeculaChatOptions;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * Measures, once the application is ready, how fast the plain target and speculative decoding generate the same
 * greedy answer to a fixed prompt, and keeps the result for the page ({@code GET /api/stats}). Runs in the
 * background so that the application serves at once; a short warm-up of each mode comes first (the JIT), then
 * {@code rounds} alternating measured runs, of which the fastest of each mode counts.
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

    private volatile Result result;

    public StartupBenchmark(ChatClient.Builder chatClientBuilder, SampleProperties properties) {
        this.chatClient = chatClientBuilder.build();
        this.settings = properties.getBenchmark();
        this.result = this.settings.isEnabled() ? Result.pending(this.settings) : Result.disabled(this.settings);
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
        this.result = Result.running(this.settings);
        try {
            int warmUpTokens = Math.max(1, Math.min(8, this.settings.getMaxTokens()));
            generate(false, warmUpTokens);
            generate(true, warmUpTokens);
            Run plain = null;
            Run speculative = null;
            for (int round = 0; round < Math.max(1, this.settings.getRounds()); round++) {
                plain = faster(plain, generate(false, this.settings.getMaxTokens()));
                speculative = faster(speculative, generate(true, this.settings.getMaxTokens()));
            }
            Objects.requireNonNull(plain);
            Objects.requireNonNull(speculative);
            double speedup = plain.tokensPerSecond() > 0 ? speculative.tokensPerSecond() / plain.tokensPerSecond()
                    : 0;
            this.result = new Result("done", this.settings.getPrompt(), this.settings.getMaxTokens(), plain,
                    speculative, speedup, plain.text().equals(speculative.text()), null);
            logger.info("Start-up benchmark: plain target {} tokens/s, speculative {} tokens/s, speed-up x{}",
                    String.format("%.1f", plain.tokensPerSecond()), String.format("%.1f", speculative.tokensPerSecond()),
                    String.format("%.2f", speedup));
        }
        catch (RuntimeException ex) {
            ErrorBody.log(logger, "Start-up benchmark failed", ex);
            this.result = new Result("failed", this.settings.getPrompt(), this.settings.getMaxTokens(), null, null,
                    null, null, ErrorBody.describe(ex));
        }
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
                statistics.draftedTokens(), statistics.acceptanceRate(), statistics.meanAcceptanceLength(),
                Objects.requireNonNullElse(response.getResult().getOutput().getText(), ""));
    }

    private static Run faster(@Nullable Run best, Run run) {
        return best == null || run.tokensPerSecond() > best.tokensPerSecond() ? run : best;
    }

    /**
     * One measured generation.
     *
     * @param tokens               output tokens
     * @param seconds              wall-clock time, prompt included
     * @param tokensPerSecond      decode rate (after the prompt)
     * @param draftedTokens        tokens the drafter proposed (0: plain, or a policy that chose not to speculate)
     * @param acceptanceRate       accepted / drafted tokens (0 for the plain run)
     * @param meanAcceptanceLength tokens per target pass while speculating
     * @param text                 the answer (not shown by the API)
     */
    public record Run(long tokens, double seconds, double tokensPerSecond, long draftedTokens, double acceptanceRate,
            double meanAcceptanceLength, @JsonIgnore String text) {
    }

    /**
     * The start-up measurement.
     *
     * @param status      "pending", "running", "done", "failed" or "disabled"
     * @param prompt      the fixed prompt
     * @param maxTokens   tokens per measured run
     * @param plain       the fastest plain-target run
     * @param speculative the fastest speculative run
     * @param speedup     speculative / plain decode rate
     * @param sameText    whether both modes gave the same (greedy) answer, as they must
     * @param error       why the measurement failed
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Result(String status, String prompt, int maxTokens, @Nullable Run plain, @Nullable Run speculative,
            @Nullable Double speedup, @Nullable Boolean sameText, @Nullable String error) {

        static Result pending(SampleProperties.Benchmark settings) {
            return new Result("pending", settings.getPrompt(), settings.getMaxTokens(), null, null, null, null, null);
        }

        static Result running(SampleProperties.Benchmark settings) {
            return new Result("running", settings.getPrompt(), settings.getMaxTokens(), null, null, null, null, null);
        }

        static Result disabled(SampleProperties.Benchmark settings) {
            return new Result("disabled", settings.getPrompt(), settings.getMaxTokens(), null, null, null, null, null);
        }
    }
}
