package io.specula.generate;

/**
 * Which tokens may come next in one request's output (structured output: the output must be a JSON text valid for a
 * schema). It follows the output as the penalty history does ({@link TokenCounts}, which owns it): every token added
 * to the output, drafted or accepted, is {@link #push pushed}, and a rejected draft is {@link #pop popped} again, so
 * the mask at a position depends only on the output before it. The drafter and the verifier therefore apply the same
 * mask at the same position, and speculative decoding stays exact for the constrained target: greedy output equals
 * constrained plain decoding token for token, and rejection sampling with the mask on both p and q samples the
 * constrained target's distribution.
 *
 * <p>Used by one decoding thread.
 */
public interface TokenConstraint {

    /**
     * The logits with every token that may not come next set to -inf (a new array, or {@code logits} itself when
     * nothing is excluded); at least one token stays allowed.
     */
    float[] mask(float[] logits);

    /** The output grew by {@code token}. */
    void push(int token);

    /** The last pushed token left the output again (a rejected draft). */
    void pop();

    /** Makes the per-request state of a constraint: one compiled constraint serves many requests. */
    interface Factory {

        /**
         * @param maxTokens the request's token limit: the output must be complete within it
         * @param eosIds    the tokens that end the output; allowed exactly where the output is complete
         */
        TokenConstraint start(int maxTokens, java.util.Set<Integer> eosIds);
    }
}
