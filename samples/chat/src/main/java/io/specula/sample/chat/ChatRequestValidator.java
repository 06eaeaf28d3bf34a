package io.specula.sample.chat;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

import io.specula.FieldError;
import io.specula.FieldErrors;
import io.specula.InvalidRequestException;
import io.specula.chat.SpeculaChatOptions;
import io.specula.speculative.policy.DraftPolicy;
import org.jspecify.annotations.Nullable;

import org.springframework.stereotype.Component;

/**
 * Checks a {@link ChatRequest} before it reaches the engine, so that a bad request gets a 400 naming every field at
 * fault before a stream starts, and turns its options into {@link SpeculaChatOptions}. The sample's own rules are the
 * HTTP body's (known fields, a prompt of bounded length); every option is checked by the engine's own rules
 * ({@link SpeculaChatOptions#validate()}), so the messages are the engine's. The token limit is the engine's
 * {@code spring.ai.specula.max-tokens-cap}, which the engine checks with each request; {@link #inJsonNames} names its
 * fields as the request does.
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
        FieldErrors errors = new FieldErrors();
        unknown(request.unknown().keySet(), "", "unknown field; expected " + String.join(" or ", ChatRequest.FIELDS),
                errors);
        String prompt = request.prompt();
        if (prompt == null || prompt.isBlank()) {
            errors.add("prompt", "must not be empty");
        }
        else if (prompt.length() > this.properties.getMaxPromptLength()) {
            errors.add("prompt", "too long: " + prompt.length() + " characters, at most "
                    + this.properties.getMaxPromptLength());
        }
        SpeculaChatOptions.Builder builder = SpeculaChatOptions.builder();
        ChatRequest.Options options = request.options();
        if (options != null) {
            unknown(options.unknown().keySet(), "options.",
                    "unknown option; expected one of " + String.join(", ", ChatRequest.Options.FIELDS), errors);
            FieldErrors engineRules = new FieldErrors();
            DraftPolicy policy = DraftPolicy.parse(options.draftPolicy(), engineRules);
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
            List<FieldError> found = new ArrayList<>(builder.build().validate());
            found.addAll(engineRules.list());
            found.forEach(error -> errors.add(optionName(error.field()), error.message()));
        }
        errors.throwIfAny();
        return builder;
    }

    /** Unknown fields reported at most. */
    static final int MAX_UNKNOWN_REPORTED = 8;

    /** Longest unknown field name reported; a longer one is cut. */
    static final int MAX_NAME_REPORTED = 64;

    /**
     * Names the first unknown fields, cut to a readable length, and counts the rest: an error never grows with the
     * request (a body of thousands of unknown keys once got an error body of ten times its size).
     */
    private static void unknown(Collection<String> names, String prefix, String message, FieldErrors errors) {
        int i = 0;
        for (String name : names) {
            if (i++ == MAX_UNKNOWN_REPORTED) {
                errors.add(prefix + "...", (names.size() - MAX_UNKNOWN_REPORTED) + " more unknown fields");
                return;
            }
            String shown = name.length() > MAX_NAME_REPORTED ? name.substring(0, MAX_NAME_REPORTED) + "..." : name;
            errors.add(prefix + shown, message);
        }
    }

    /** An error the engine raised for a request, with its fields named as the request's JSON names them. */
    public InvalidRequestException inJsonNames(InvalidRequestException engineError) {
        return new InvalidRequestException(engineError.errors()
            .stream()
            .map(error -> new FieldError(error.field().equals("prompt") ? "prompt" : optionName(error.field()),
                    error.message()))
            .toList());
    }

    /** The JSON name of an option the engine names: under {@code options}, {@code stop} for the stop sequences. */
    static String optionName(String option) {
        String name = option.startsWith("stopSequences") ? "stop" + option.substring("stopSequences".length())
                : option;
        return "options." + name;
    }
}
