package io.specula.sample.chat;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

import org.springframework.util.unit.DataSize;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the sample itself ({@code specula.sample.*}); the engine's are Specula's own
 * {@code spring.ai.specula.*}.
 */
@ConfigurationProperties("specula.sample")
public class SampleProperties {

    /**
     * Directory of the model pair, with the target in target/ and the drafter in drafter/ (application.yml points
     * spring.ai.specula.target and .drafter into it). Relative to the working directory: samples/chat under run.sh
     * and spring-boot:run.
     */
    private String models = "../models";

    /** Longest prompt a request may send, in characters. */
    private int maxPromptLength = 4000;

    /**
     * Largest body an API request may send; a larger one is refused with 413 before it is parsed. The default fits a
     * prompt of max-prompt-length characters however it is escaped, and the options.
     */
    private DataSize maxRequestSize = DataSize.ofKilobytes(64);

    /**
     * Retry-After of a 503 when the engine is busy (rounded up to whole seconds). Unset: the engine's
     * spring.ai.specula.queue-timeout, between 1 and 60 seconds.
     */
    private @Nullable Duration busyRetryAfter;

    /**
     * Least time between two checks that the client of {@code POST /api/chat} is still connected, once its answer has
     * started (each writes one space of JSON whitespace; a client that hung up is seen at the second check after it,
     * and its generation stops at the next decoding step). 0 checks at every text chunk. Also how often the connection
     * of a request still queued, on either endpoint, is read for a hang-up ({@link QueuedClientCheck}; 0 means every
     * 20 ms there).
     */
    private Duration disconnectCheckInterval = Duration.ofMillis(200);

    private final Benchmark benchmark = new Benchmark();

    public String getModels() {
        return this.models;
    }

    public void setModels(String models) {
        this.models = models;
    }

    public int getMaxPromptLength() {
        return this.maxPromptLength;
    }

    public void setMaxPromptLength(int maxPromptLength) {
        this.maxPromptLength = maxPromptLength;
    }

    public DataSize getMaxRequestSize() {
        return this.maxRequestSize;
    }

    public void setMaxRequestSize(DataSize maxRequestSize) {
        this.maxRequestSize = maxRequestSize;
    }

    public @Nullable Duration getBusyRetryAfter() {
        return this.busyRetryAfter;
    }

    public void setBusyRetryAfter(@Nullable Duration busyRetryAfter) {
        this.busyRetryAfter = busyRetryAfter;
    }

    public Duration getDisconnectCheckInterval() {
        return this.disconnectCheckInterval;
    }

    public void setDisconnectCheckInterval(Duration disconnectCheckInterval) {
        this.disconnectCheckInterval = disconnectCheckInterval;
    }

    public Benchmark getBenchmark() {
        return this.benchmark;
    }

    /** The start-up measurement of the plain target against speculative decoding. */
    public static class Benchmark {

        /** Whether to measure at start-up (in the background, once the application is ready). */
        private boolean enabled = true;

        /** The fixed prompt of the measurement (the shipped models continue prose rather than answer questions). */
        private String prompt = "It was late in the evening when Holmes came back to Baker Street, and";

        /** Tokens generated per measured run. */
        private int maxTokens = 64;

        /**
         * Measured rounds, each one plain run and one speculative run, alternating which goes first, after a
         * full-length warm-up of each; the figures are medians over the rounds.
         */
        private int rounds = 5;

        public boolean isEnabled() {
            return this.enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getPrompt() {
            return this.prompt;
        }

        public void setPrompt(String prompt) {
            this.prompt = prompt;
        }

        public int getMaxTokens() {
            return this.maxTokens;
        }

        public void setMaxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
        }

        public int getRounds() {
            return this.rounds;
        }

        public void setRounds(int rounds) {
            this.rounds = rounds;
        }
    }
}
