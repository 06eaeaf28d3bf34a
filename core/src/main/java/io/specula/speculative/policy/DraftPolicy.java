package io.specula.speculative.policy;

import io.specula.FieldErrors;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which draft-length policy a request uses, and the rules of the draft length: the one place they are written (the
 * request validation, the Spring properties and the sample call {@link #parse} and {@link #checkDraftTokens}).
 */
public enum DraftPolicy {

    /** Cost-aware (the default): drafts as long as it pays, turns speculation off while it does not. */
    ADAPTIVE,
    /** Always γmax tokens (vLLM's {@code num_speculative_tokens}). */
    FIXED,
    /** Lengthens the draft after full acceptance, shortens it after a rejection. */
    HEURISTIC,
    /** Stops drafting at the first token the drafter is unsure of. */
    CONFIDENCE;

    /** The largest draft length γmax any policy accepts. */
    public static final int MAX_DRAFT_TOKENS = 16;

    /** γmax of a request that sets none. */
    public static final int DEFAULT_DRAFT_TOKENS = 4;

    /** The policy of a request that sets none. */
    public static final DraftPolicy DEFAULT = ADAPTIVE;

    /** The name in configuration, JSON and logs: "adaptive", "fixed", ... */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a configured name (any case, surrounding blanks ignored); an unknown one is an error naming the field. */
    public static DraftPolicy parse(String name) {
        FieldErrors errors = new FieldErrors();
        DraftPolicy policy = parse(name, errors);
        errors.throwIfAny();
        return policy;
    }

    /**
     * Parses a configured name; {@code null} (not set) gives {@code null}, an unknown name adds an error under
     * {@code draftPolicy} and gives {@code null}.
     */
    public static DraftPolicy parse(String name, FieldErrors errors) {
        if (name == null) {
            return null;
        }
        String n = name.trim().toUpperCase(Locale.ROOT);
        for (DraftPolicy p : values()) {
            if (p.name().equals(n)) {
                return p;
            }
        }
        errors.add("draftPolicy", "expected one of " + names() + ", got '" + name + "'");
        return null;
    }

    /** The rule of γmax: an integer in 1..{@value #MAX_DRAFT_TOKENS} ({@code null}, not set, passes). */
    public static void checkDraftTokens(Integer draftTokens, FieldErrors errors) {
        errors.check("draftTokens", draftTokens, d -> d >= 1 && d <= MAX_DRAFT_TOKENS,
                "expected an integer in 1.." + MAX_DRAFT_TOKENS);
    }

    /** γmax, checked: for the policies' constructors. */
    static int checkedDraftTokens(int draftTokens) {
        FieldErrors errors = new FieldErrors();
        checkDraftTokens(draftTokens, errors);
        errors.throwIfAny();
        return draftTokens;
    }

    private static String names() {
        return Arrays.stream(values()).map(DraftPolicy::configName).collect(Collectors.joining(", "));
    }
}
