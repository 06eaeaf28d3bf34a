package io.specula.generate;

/**
 * Receives the output as it is produced. Text deltas never split a UTF-8 character; a token whose bytes do not yet
 * complete a character produces an empty delta and its text arrives with a later token. Text held back at the end
 * of the output (a partial stop sequence that did not complete) arrives with token id -1.
 */
@FunctionalInterface
public interface GenerationListener {

    GenerationListener NONE = (tokenId, textDelta, source) -> { };

    void onToken(int tokenId, String textDelta, TokenSource source);
}
