package io.specula.engine;

import io.specula.FieldErrors;
import io.specula.generate.ContextWindow;
import io.specula.generate.GenerationRequest;
import io.specula.generate.TokenConstraint;
import io.specula.generate.structured.InvalidSchemaException;
import io.specula.generate.structured.StructuredOutput;
import io.specula.speculative.SpeculationSettings;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The engine's view of a chat request before it decodes: the checks that need no model run (validation), then the
 * conversation as tokens fitted into the context with its token limit decided. Kept apart from
 * {@link SpeculaEngine} so each step can be tested without loading a model; the engine calls the steps in order.
 */
final class RequestPreparation {

    private final PromptEncoder encoder;
    private final ContextWindow context;
    private final int maxTokensCap;
    private final StructuredOutput structured;

    RequestPreparation(PromptEncoder encoder, ContextWindow context, int maxTokensCap, StructuredOutput structured) {
        this.encoder = encoder;
        this.context = context;
        this.maxTokensCap = maxTokensCap;
        this.structured = structured;
    }

    /** A request ready to be admitted and decoded. */
    record Prepared(GenerationRequest generation, SpeculationSettings speculation) {
    }

    /**
     * Every rule a request can break before any work is done, reported together: the conversation, each option's
     * range, the max-tokens cap.
     */
    void validate(ChatRequest request) {
        FieldErrors errors = new FieldErrors();
        request.checkMessages(errors);
        encoder.checkTools(request.messages(), request.tools(), errors);
        request.options().check(errors);
        ServingLimits.checkMaxTokens(request.options().maxTokens(), maxTokensCap, errors);
        if (request.outputSchema() != null) {
            try {
                structured.forSchema(request.outputSchema());   // compiled once, kept for prepare()
            } catch (InvalidSchemaException e) {
                errors.add("outputSchema", e.detail());
            }
        }
        errors.throwIfAny();
    }

    /**
     * Renders and encodes the conversation and fits it into the context: a prompt that leaves no room is refused; an
     * unset token limit becomes the room left, at most the engine's cap; a set one is at most the room left, which is
     * where decoding stops anyway (and a structured output's grammar must know the real limit to close its JSON in
     * time). Call after {@link #validate}.
     */
    Prepared prepare(ChatRequest request, BooleanSupplier cancelled) {
        DecodingOptions options = request.options();
        int[] promptIds = encoder.encode(request.messages(), request.tools());
        int room = context.room(promptIds.length);
        int maxTokens = options.maxTokens() != null ? Math.min(options.maxTokens(), room)
                : maxTokensCap > 0 ? Math.min(room, maxTokensCap) : room;
        TokenConstraint.Factory constraint = request.outputSchema() == null ? null
                : structured.forSchema(request.outputSchema());
        GenerationRequest generation = new GenerationRequest(promptIds, maxTokens, options.sampling(),
                options.stopSequences(), List.of(), cancelled, constraint);
        return new Prepared(generation, options.speculation());
    }
}
