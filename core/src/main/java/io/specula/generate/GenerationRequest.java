package io.specula.generate;

import io.specula.FieldErrors;
import io.specula.SpeculaException;

import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * One generation: the prompt as token ids (already templated and tokenized), the limits and the sampling. Owns the
 * rules of the output limits ({@link #checkMaxTokens}, {@link #checkStopSequences}).
 *
 * @param promptIds     the prompt, used as given (no BOS added here)
 * @param maxTokens     the most tokens to generate
 * @param sampling      how to pick tokens
 * @param stopSequences text that ends the output; the stop text itself is not part of the output
 * @param eosIds        token ids that end the output; empty means the model's own end-of-sequence ids
 * @param cancelled     polled once per decoding step; returning true ends generation with {@link FinishReason#CANCELLED}
 * @param constraint    what the output must look like (structured output), or {@code null} for free text
 */
public record GenerationRequest(int[] promptIds, int maxTokens, SamplingParams sampling, List<String> stopSequences,
                                List<Integer> eosIds, BooleanSupplier cancelled, TokenConstraint.Factory constraint) {

    /** A request for free text (no constraint on the output). */
    public GenerationRequest(int[] promptIds, int maxTokens, SamplingParams sampling, List<String> stopSequences,
                             List<Integer> eosIds, BooleanSupplier cancelled) {
        this(promptIds, maxTokens, sampling, stopSequences, eosIds, cancelled, null);
    }

    public GenerationRequest {
        if (promptIds == null || promptIds.length == 0) {
            throw new SpeculaException("prompt: expected at least one token, got an empty prompt");
        }
        FieldErrors errors = new FieldErrors();
        checkMaxTokens(maxTokens, errors);
        checkStopSequences(stopSequences, errors);
        errors.throwIfAny();
        sampling = sampling == null ? SamplingParams.GREEDY : sampling;
        stopSequences = stopSequences == null ? List.of() : List.copyOf(stopSequences);
        eosIds = eosIds == null ? List.of() : List.copyOf(eosIds);
        cancelled = cancelled == null ? () -> false : cancelled;
    }

    /** The rule of the token limit: at least one token ({@code null}, not set, passes). */
    public static void checkMaxTokens(Integer maxTokens, FieldErrors errors) {
        errors.check("maxTokens", maxTokens, m -> m >= 1, "expected an integer >= 1");
    }

    /**
     * The most stop sequences a request may have. Every output token is matched against each of them (and against
     * each of their prefixes, to hold back text that may still become one), so their number and length bound the
     * work per token.
     */
    public static final int MAX_STOP_SEQUENCES = 16;

    /** The longest stop sequence, in characters. */
    public static final int MAX_STOP_SEQUENCE_LENGTH = 128;

    /**
     * The rule of stop sequences: at most {@value #MAX_STOP_SEQUENCES}, each a non-empty string of at most
     * {@value #MAX_STOP_SEQUENCE_LENGTH} characters ({@code null}, not set, passes). An error names at most the first
     * {@value #MAX_STOP_SEQUENCES} sequences at fault, so a huge list cannot make a huge error.
     */
    public static void checkStopSequences(List<String> stopSequences, FieldErrors errors) {
        if (stopSequences == null) {
            return;
        }
        if (stopSequences.size() > MAX_STOP_SEQUENCES) {
            errors.add("stopSequences", "expected at most " + MAX_STOP_SEQUENCES + " sequences, got "
                    + stopSequences.size());
        }
        int reported = 0;
        for (int i = 0; i < stopSequences.size() && reported < MAX_STOP_SEQUENCES; i++) {
            String stop = stopSequences.get(i);
            if (stop == null || stop.isEmpty()) {
                errors.add("stopSequences[" + i + "]", "expected a non-empty string");
                reported++;
            } else if (stop.length() > MAX_STOP_SEQUENCE_LENGTH) {
                errors.add("stopSequences[" + i + "]", "expected at most " + MAX_STOP_SEQUENCE_LENGTH
                        + " characters, got " + stop.length());
                reported++;
            }
        }
    }

    /** The same request with another cancel flag (the engine wraps it to see each step go by). */
    public GenerationRequest withCancelled(BooleanSupplier cancelled) {
        return new GenerationRequest(promptIds, maxTokens, sampling, stopSequences, eosIds, cancelled, constraint);
    }

    /** The output history of this request, starting empty: token counts and, if it has one, its constraint. */
    public TokenCounts newHistory(int vocabSize, java.util.Set<Integer> eos) {
        return new TokenCounts(vocabSize, constraint == null ? null : constraint.start(maxTokens, eos));
    }

    public static GenerationRequest of(int[] promptIds, int maxTokens, SamplingParams sampling) {
        return new GenerationRequest(promptIds, maxTokens, sampling, List.of(), List.of(), null);
    }
}
