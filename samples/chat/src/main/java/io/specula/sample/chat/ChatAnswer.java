package io.specula.sample.chat;

import java.util.List;
import java.util.Objects;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.specula.chat.SpeculaChatMetadata;
import org.jspecify.annotations.Nullable;

import org.springframework.ai.chat.metadata.ChatGenerationMetadata;
import org.springframework.ai.chat.model.ChatResponse;

/**
 * Response of {@code POST /api/chat}, and the {@code done} event of {@code POST /api/chat/stream} (without text).
 *
 * @param text             the answer ({@code null} in the stream's done event: the text came as token events)
 * @param finishReason     STOP (end of the answer or a stop sequence) or LENGTH (the token limit)
 * @param usage            prompt and completion tokens
 * @param statistics       the request's speculative decoding statistics
 * @param elapsedSeconds   wall-clock time of the whole request
 * @param firstTokenSeconds time to the first text (streams only)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ChatAnswer(@Nullable String text, @Nullable String finishReason, Usage usage, Statistics statistics,
        double elapsedSeconds, @Nullable Double firstTokenSeconds) {

    static ChatAnswer of(ChatResponse response, @Nullable String text, double elapsedSeconds,
            @Nullable Double firstTokenSeconds) {
        ChatGenerationMetadata metadata = response.getResult().getMetadata();
        org.springframework.ai.chat.metadata.Usage usage = response.getMetadata().getUsage();
        return new ChatAnswer(text, metadata.getFinishReason(),
                new Usage(orZero(usage.getPromptTokens()), orZero(usage.getCompletionTokens())),
                Statistics.of(metadata), elapsedSeconds, firstTokenSeconds);
    }

    private static long orZero(@Nullable Integer value) {
        return value != null ? value : 0;
    }

    /**
     * Tokens of the request.
     *
     * @param promptTokens     tokens of the rendered prompt
     * @param completionTokens tokens of the answer
     */
    public record Usage(long promptTokens, long completionTokens) {
    }

    /**
     * Speculative decoding statistics of one request (Specula's generation metadata).
     *
     * @param speculative          whether the drafter proposed tokens
     * @param draftModel           the drafter's name
     * @param drafts               verification steps that scored a draft
     * @param draftedTokens        tokens the drafter proposed
     * @param acceptedTokens       drafted tokens the target accepted
     * @param acceptanceRate       accepted / drafted tokens
     * @param meanAcceptanceLength tokens per target pass while speculating (1 + accepted / drafts)
     * @param tokensPerSecond      output tokens per second of decoding (after the prompt)
     */
    public record Statistics(boolean speculative, @Nullable String draftModel, long drafts, long draftedTokens,
            long acceptedTokens, double acceptanceRate, double meanAcceptanceLength, double tokensPerSecond) {

        static Statistics of(ChatGenerationMetadata metadata) {
            return new Statistics(Boolean.TRUE.equals(metadata.get(SpeculaChatMetadata.SPECULATIVE)),
                    metadata.get(SpeculaChatMetadata.DRAFT_MODEL), number(metadata, SpeculaChatMetadata.DRAFTS).longValue(),
                    number(metadata, SpeculaChatMetadata.DRAFTED_TOKENS).longValue(),
                    number(metadata, SpeculaChatMetadata.ACCEPTED_TOKENS).longValue(),
                    number(metadata, SpeculaChatMetadata.ACCEPTANCE_RATE).doubleValue(),
                    number(metadata, SpeculaChatMetadata.MEAN_ACCEPTANCE_LENGTH).doubleValue(),
                    number(metadata, SpeculaChatMetadata.TOKENS_PER_SECOND).doubleValue());
        }

        private static Number number(ChatGenerationMetadata metadata, String key) {
            Object value = metadata.get(key);
            return value instanceof Number n ? n : 0;
        }
    }

    /**
     * A streamed text delta: the text of the tokens produced since the previous one (the chat model gathers a few
     * tokens per chunk), the source of each of its tokens, and its text split by source.
     *
     * @param text     the new text
     * @param sources  one "DRAFTER" (a drafted token the target accepted) or "TARGET" (a token the target produced
     *                 itself) per token, in order
     * @param segments the text split into stretches of one source, in order (they concatenate to {@code text})
     */
    public record Delta(String text, List<String> sources, List<SpeculaChatMetadata.TextSegment> segments) {

        static Delta of(ChatResponse chunk) {
            ChatGenerationMetadata metadata = chunk.getResult().getMetadata();
            List<String> sources = metadata.get(SpeculaChatMetadata.TOKEN_SOURCES);
            List<SpeculaChatMetadata.TextSegment> segments = metadata.get(SpeculaChatMetadata.TEXT_SEGMENTS);
            return new Delta(Objects.requireNonNullElse(chunk.getResult().getOutput().getText(), ""),
                    sources != null ? sources : List.of(), segments != null ? segments : List.of());
        }
    }
}
