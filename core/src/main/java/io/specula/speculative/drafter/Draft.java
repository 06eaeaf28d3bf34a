package io.specula.speculative.drafter;

/**
 * One proposal of a drafter.
 *
 * @param tokens       the drafted ids, in order (possibly none: the drafter had nothing to propose)
 * @param q            for sampling, {@code q[i]} is the drafter's processed distribution (same penalties, temperature,
 *                     top-k and top-p as the target) that {@code tokens[i]} was drawn from, over the target's ids;
 *                     {@code null} when the draft is deterministic (q one-hot at the drafted token: n-gram drafts, or
 *                     greedy requests)
 * @param syncedTokens context tokens the drafter had to process before drafting (1 in steady state: the target's
 *                     last token; more after a bonus token or after steps without speculation). Policies use it to
 *                     tell drafting cost from catch-up cost.
 */
public record Draft(int[] tokens, float[][] q, int syncedTokens) {

    public static final Draft EMPTY = new Draft(new int[0], null, 0);

    public Draft {
        if (q != null && q.length != tokens.length) {
            throw new IllegalArgumentException("q has " + q.length + " rows for " + tokens.length + " tokens");
        }
    }

    public int size() {
        return tokens.length;
    }

    public boolean isEmpty() {
        return tokens.length == 0;
    }

    /** The drafter's probability of {@code tokens[i]}: {@code q[i][tokens[i]]}, or 1 for a deterministic draft. */
    public float qOf(int i) {
        return q == null ? 1f : q[i][tokens[i]];
    }
}
