package io.specula.generate.structured;

import io.specula.tokenizer.Tokenizer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Structured output for one model's tokenizer: compiles JSON schemas into {@link JsonSchemaConstraint}s and keeps the
 * most recent ones (an application asks for a handful of entity types, each with the same schema text every time).
 * The vocabulary's byte strings are read once, at the first schema. Thread-safe.
 */
public final class StructuredOutput {

    /** Compiled schemas kept; each holds its grammar and the moves of the states requests reached. */
    static final int CACHED_SCHEMAS = 32;

    private final Tokenizer tokenizer;
    private volatile TokenVocabulary vocabulary;
    private final Map<String, JsonSchemaConstraint> cache = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, JsonSchemaConstraint> eldest) {
            return size() > CACHED_SCHEMAS;
        }
    };

    public StructuredOutput(Tokenizer tokenizer) {
        this.tokenizer = tokenizer;
    }

    /**
     * The constraint of a JSON schema.
     *
     * @throws InvalidSchemaException when the schema is not JSON or uses what constrained decoding cannot bound
     */
    public JsonSchemaConstraint forSchema(String schema) {
        synchronized (cache) {
            JsonSchemaConstraint cached = cache.get(schema);
            if (cached != null) {
                return cached;
            }
        }
        JsonSchemaConstraint compiled = new JsonSchemaConstraint(JsonSchemaAutomaton.compile(schema), vocabulary());
        synchronized (cache) {
            cache.putIfAbsent(schema, compiled);
            return cache.get(schema);
        }
    }

    private TokenVocabulary vocabulary() {
        TokenVocabulary v = vocabulary;
        if (v == null) {
            synchronized (this) {
                v = vocabulary;
                if (v == null) {
                    v = TokenVocabulary.of(tokenizer);
                    vocabulary = v;
                }
            }
        }
        return v;
    }
}
