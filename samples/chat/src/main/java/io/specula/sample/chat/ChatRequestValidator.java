package io.specula.sample.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import io.specula.chat.SpeculaChatOptions;
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

    static final Set<String> DRAFT_POLICIES = Set.of("adaptive", "fixed", "heuristic", "confidence");

    static final int MAX_DRAFT_TOKENS = 16;

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
            check(errors, "temperature", options.temperature(), v -> v >= 0, "expected a number >= 0 (0: greedy)");
            check(errors, "topP", options.topP(), v -> v > 0 && v <= 1, "expected a number in (0, 1]");
            if (options.topK() != null && options.topK() < 0) {
                errors.add(option("topK", "expected an integer >= 0 (0: no limit), got " + options.topK()));
            }
            if (options.maxTokens() != null
                    && (options.maxTokens() < 1 || options.maxTokens() > this.properties.getMaxTokensLimit())) {
                errors.add(option("maxTokens", "expected an integer in 1.." + this.properties.getMaxTokensLimit()
                        + ", got " + options.maxTokens()));
            }
            if (options.stop() != null) {
                for (int i = 0; i < options.stop().size(); i++) {
                    String stop = options.stop().get(i);
                    if (stop == null || stop.isEmpty()) {
                        errors.add(option("stop[" + i + "]", "expected a non-empty string"));
                    }
                }
            }
            if (options.draftTokens() != null
                    && (options.draftTokens() < 1 || options.draftTokens() > MAX_DRAFT_TOKENS)) {
                errors.add(option("draftTokens",
                        "expected an integer in 1.." + MAX_DRAFT_TOKENS + ", got " + options.draftTokens()));
            }
            String policy = options.draftPolicy() != null ? options.draftPolicy().trim().toLowerCase(Locale.ROOT)
                    : null;
            if (policy != null && !DRAFT_POLICIES.contains(policy)) {
                errors.add(option("draftPolicy", "expected adaptive, fixed, heuristic or confidence, got \""
                        + options.draftPolicy() + "\""));
            }
            check(errors, "frequencyPenalty", options.frequencyPenalty(), v -> v >= -2 && v <= 2,
                    "expected a number in -2..2");
            check(errors, "presencePenalty", options.presencePenalty(), v -> v >= -2 && v <= 2,
                    "expected a number in -2..2");
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

    private static void check(List<FieldError> errors, String name, @Nullable Double value,
            java.util.function.DoublePredicate valid, String expected) {
        if (value != null && (!Double.isFinite(value) || !valid.test(value))) {
            errors.add(option(name, expected + ", got " + value));
        }
    }

    private static FieldError option(String name, String message) {
        return new FieldError("options." + name, message);
    }
}
