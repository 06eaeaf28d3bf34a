package io.specula.sample.chat;

import java.util.ArrayList;
import java.util.List;

import io.specula.FieldErrors;
import io.specula.chat.SpeculaChatOptions;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.sample.chat.InvalidRequestException.FieldError;
import org.jspecify.annotations.Nullable;

import org.springframework.stereotype.Component;

/**
 * Checks a {@link ChatRequest} before it reaches the engine, so that a bad request gets a 400 naming every field at
 * fault (the engine would only report the first one, as a generation failure), and turns its options into
 * {@link SpeculaChatOptions}.
 */
@Component
public class ChatRequestValidator {

    private final SampleProperties properties;

    public ChatRequestValidator(SampleProperties properties) {
        this.properties = properties;
    }

    /** The request's options for {@code ChatClient}; throws {@link InvalidRequestException} when it is invalid. */
    public SpeculaChatOptions.Builder validate(@Nullable ChatRequest request) {
        if (request == null) {
            throw new InvalidRequestException("body", "expected a JSON object {\"prompt\": \"...\", \"options\": {...}}");
        }
        List<FieldError> errors = new ArrayList<>();
        request.unknown().keySet().forEach(name -> errors.add(new FieldError(name, "unknown field; expected "
                + String.join(" or ", ChatRequest.FIELDS))));
        String prompt = request.prompt();
        if (prompt == null || prompt.isBlank()) {
            errors.add(new FieldError("prompt", "must not be empty"));
        }
        else if (prompt.length() > this.properties.getMaxPromptLength()) {
            errors.add(new FieldError("prompt", "too long: " + prompt.length() + " characters, at most "
                    + this.properties.getMaxPromptLength()));
        }
        SpeculaChatOptions.Builder builder = SpeculaChatOptions.builder();
        ChatRequest.Options options = request.options();
        if (options != null) {
            options.unknown().keySet().forEach(name -> errors.add(new FieldError("options." + name,
                    "unknown option; expected one of " + String.join(", ", ChatRequest.Options.FIELDS))));
            // The engine's own rules: the same ranges and messages as spring.ai.specula.chat.* and the engine.
            FieldErrors rules = new FieldErrors();
            SamplingParams.check(options.temperature(), options.topK(), options.topP(), options.frequencyPenalty(),
                    options.presencePenalty(), rules);
            GenerationRequest.checkStopSequences(options.stop(), rules);
            DraftPolicy.checkDraftTokens(options.draftTokens(), rules);
            DraftPolicy policy = DraftPolicy.parse(options.draftPolicy(), rules);
            rules.list().forEach(error -> errors.add(option(jsonField(error.field()), error.message())));
            if (options.maxTokens() != null
                    && (options.maxTokens() < 1 || options.maxTokens() > this.properties.getMaxTokensLimit())) {
                errors.add(option("maxTokens", "expected an integer in 1.." + this.properties.getMaxTokensLimit()
                        + ", got " + options.maxTokens()));
            }
            builder.temperature(options.temperature())
                .topP(options.topP())
                .topK(options.topK())
                .maxTokens(options.maxTokens())
                .stopSequences(options.stop())
                .seed(options.seed())
                .speculative(options.speculative())
                .draftTokens(options.draftTokens())
                .draftPolicy(policy)
                .frequencyPenalty(options.frequencyPenalty())
                .presencePenalty(options.presencePenalty());
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        return builder;
    }

    /** The request's JSON name of an option the engine names: {@code stop} for the stop sequences. */
    static String jsonField(String option) {
        return option.startsWith("stopSequences") ? "stop" + option.substring("stopSequences".length()) : option;
    }

    private static FieldError option(String name, String message) {
        return new FieldError("options." + name, message);
    }
}
