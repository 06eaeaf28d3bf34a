package io.specula.tokenizer;

/**
 * A tool the model may call, as chat templates take it ({@code tools}: OpenAI's function format).
 *
 * @param name        the tool's name
 * @param description what it does (the model reads it)
 * @param parameters  a JSON schema of its arguments (a JSON object's text)
 */
public record ChatTool(String name, String description, String parameters) {
}
