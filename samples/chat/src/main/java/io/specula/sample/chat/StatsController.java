package io.specula.sample.chat;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/stats}: what the page needs besides {@code /actuator/speculative}: the start-up benchmark (plain
 * target against speculative decoding) and the request limits.
 */
@RestController
public class StatsController {

    private final StartupBenchmark benchmark;

    private final SampleProperties properties;

    public StatsController(StartupBenchmark benchmark, SampleProperties properties) {
        this.benchmark = benchmark;
        this.properties = properties;
    }

    @GetMapping("/api/stats")
    public Stats stats() {
        return new Stats(this.benchmark.result(),
                new Limits(this.properties.getMaxPromptLength(), this.properties.getMaxTokensLimit()));
    }

    /**
     * @param benchmark the start-up measurement
     * @param limits    what a request may ask for
     */
    public record Stats(StartupBenchmark.Result benchmark, Limits limits) {
    }

    /**
     * @param maxPromptLength longest prompt, in characters
     * @param maxTokens       largest options.maxTokens
     */
    public record Limits(int maxPromptLength, int maxTokens) {
    }
}
