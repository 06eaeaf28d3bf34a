package io.specula.speculative.verify;

/**
 * What verification decided.
 *
 * @param accepted  how many drafted tokens were accepted (a prefix of the draft)
 * @param nextToken the target's own token after them: the correction at the first rejected position, or the bonus
 *                  token when every draft was accepted
 */
public record Verdict(int accepted, int nextToken) {
}
