package io.specula.generate;

import io.specula.SpeculaException;

/**
 * The longest sequence (prompt + output) one request may use, and the one rule of fitting a request into it: a
 * prompt must leave room for at least one output token. The engine plans requests with it (the room left decides an
 * unset token limit, the capacity decides the KV cache it reserves); the generators size their caches with it.
 *
 * @param limit the context in tokens
 */
public record ContextWindow(int limit) {

    public ContextWindow {
        if (limit < 1) {
            throw new IllegalArgumentException("context: expected at least 1 token, got " + limit);
        }
    }

    /** Tokens left for the output after a prompt of {@code promptLength}; an error when none are. */
    public int room(int promptLength) {
        if (promptLength >= limit) {
            throw new SpeculaException("prompt: " + promptLength + " tokens leave no room in the context window of "
                    + limit + " tokens; shorten the conversation or raise the maximum context");
        }
        return limit - promptLength;
    }

    /**
     * The KV cache positions a request needs: prompt + max tokens + {@code extra} (the positions of one verification
     * pass when speculating), at most the whole window.
     */
    public int capacity(int promptLength, int maxTokens, int extra) {
        room(promptLength);
        return (int) Math.min((long) promptLength + maxTokens + extra, limit);
    }
}
