package io.specula.sample.chat;

import io.specula.ProcessMemory;
import io.specula.autoconfigure.SpeculaEngineProperties;

import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /api/stats}: what the page needs besides {@code /actuator/specula}: the start-up benchmark (plain
 * target against speculative decoding) and the request limits; and the server process (its id and resident memory),
 * which the HTTP load test ({@code specula loadtest --url}) reads at the start and the end of a run.
 */
@RestController
public class StatsController {

    private final StartupBenchmark benchmark;

    private final SampleProperties properties;

    private final SpeculaEngineProperties engine;

    public StatsController(StartupBenchmark benchmark, SampleProperties properties, SpeculaEngineProperties engine) {
        this.benchmark = benchmark;
        this.properties = properties;
        this.engine = engine;
    }

    @GetMapping("/api/stats")
    public Stats stats() {
        return new Stats(this.benchmark.result(),
                new Limits(this.properties.getMaxPromptLength(), this.engine.getMaxTokensCap()),
                new ProcessInfo(ProcessHandle.current().pid(), ProcessMemory.rssBytes()));
    }

    /**
     * @param benchmark the start-up measurement
     * @param limits    what a request may ask for
     * @param process   the server process
     */
    public record Stats(StartupBenchmark.Result benchmark, Limits limits, ProcessInfo process) {
    }

    /**
     * @param pid      process id
     * @param rssBytes resident set size (Linux: VmRSS), 0 where unknown
     */
    public record ProcessInfo(long pid, long rssBytes) {
    }

    /**
     * @param maxPromptLength longest prompt, in characters
     * @param maxTokens       largest options.maxTokens (the engine's max-tokens-cap; 0: the context window)
     */
    public record Limits(int maxPromptLength, int maxTokens) {
    }
}
