package io.specula.engine;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Which drafter proposes tokens for the target: none (the target decodes alone), prompt lookup ({@link Kind#NGRAM}, no
 * second model), or a small model sharing the target's tokenizer, loaded from a directory.
 *
 * @param kind      which kind of drafter
 * @param directory the model's directory, for {@link Kind#MODEL} only
 */
public record DrafterChoice(Kind kind, Path directory) {

    public enum Kind { NONE, NGRAM, MODEL }

    public static final DrafterChoice NONE = new DrafterChoice(Kind.NONE, null);

    public static final DrafterChoice NGRAM = new DrafterChoice(Kind.NGRAM, null);

    public DrafterChoice {
        if (kind == null) {
            throw new IllegalArgumentException("drafter: a kind is required");
        }
        if ((kind == Kind.MODEL) != (directory != null)) {
            throw new IllegalArgumentException("drafter: a model drafter, and only a model drafter, has a directory");
        }
    }

    public static DrafterChoice model(Path directory) {
        return new DrafterChoice(Kind.MODEL, directory);
    }

    /**
     * The drafter a setting names, as configuration and the command line write it: empty or {@code none} for none,
     * {@code ngram} for prompt lookup (any case), anything else a model directory.
     */
    public static DrafterChoice parse(String setting) {
        String s = setting == null ? "" : setting.trim();
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "", "none" -> NONE;
            case "ngram" -> NGRAM;
            default -> model(Path.of(s));
        };
    }

    /** As a setting writes it: "none", "ngram" or the directory. */
    @Override
    public String toString() {
        return kind == Kind.MODEL ? directory.toString() : kind.name().toLowerCase(Locale.ROOT);
    }
}
