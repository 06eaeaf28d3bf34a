package io.specula.sample.chat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonAnySetter;
import org.jspecify.annotations.Nullable;

/**
 * Body of {@code POST /api/chat} and {@code POST /api/chat/stream}: {@code {"prompt": "...", "options": {...}}}.
 * Unknown fields are collected (not ignored) so that a misspelt option is refused with a message that names it.
 *
 * @param prompt  the user's message (required)
 * @param options per-request options; every field optional
 */
public record ChatRequest(@Nullable String prompt, @Nullable Options options,
        @JsonAnySetter Map<String, Object> unknown) {

    public ChatRequest {
        unknown = unknown != null ? unknown : new LinkedHashMap<>();
    }

    /** The field names {@link ChatRequest} accepts. */
    static final List<String> FIELDS = List.of("prompt", "options");

    /**
     * Per-request options; {@code null} keeps the default from {@code spring.ai.specula.chat.*}.
     *
     * @param temperature      sampling temperature, >= 0 (0: greedy)
     * @param topP             nucleus sampling, in (0, 1]
     * @param topK             keep the k most likely tokens, >= 0 (0: all)
     * @param maxTokens        most tokens to generate
     * @param stop             extra stop sequences
     * @param seed             seed of the sampler
     * @param speculative      false: the target decodes alone
     * @param draftTokens      largest draft length, 1..16
     * @param draftPolicy      adaptive, fixed, heuristic or confidence
     * @param frequencyPenalty OpenAI-style frequency penalty
     * @param presencePenalty  OpenAI-style presence penalty
     */
    public record Options(@Nullable Double temperature, @Nullable Double topP, @Nullable Integer topK,
            @Nullable Integer maxTokens, @Nullable List<String> stop, @Nullable Long seed, @Nullable Boolean speculative,
            @Nullable Integer draftTokens, @Nullable String draftPolicy, @Nullable Double frequencyPenalty,
            @Nullable Double presencePenalty, @JsonAnySetter Map<String, Object> unknown) {

        public Options {
            unknown = unknown != null ? unknown : new LinkedHashMap<>();
        }

        /** The option names {@link Options} accepts. */
        static final List<String> FIELDS = List.of("temperature", "topP", "topK", "maxTokens", "stop", "seed",
                "speculative", "draftTokens", "draftPolicy", "frequencyPenalty", "presencePenalty");
    }
}
