package io.specula.speculative.drafter;

import io.specula.SpeculaException;
import io.specula.tokenizer.Tokenizer;

/**
 * At load time: a drafter model is only useful, and its drafts only mean the same thing, if every id it can propose
 * is the same token for the target. Models of one family share a tokenizer but often differ in padded output rows
 * (Qwen2.5 pads to 151936 rows for 151665 tokens), so only the ids the drafter can actually emit are compared: those
 * below both models' output rows.
 */
public final class VocabularyCheck {

    private VocabularyCheck() {
    }

    /**
     * Throws a {@link SpeculaException} naming both models and the first id that differs.
     *
     * @param targetRows  the target's output rows ({@code CausalLm#vocabSize})
     * @param drafterRows the drafter's output rows
     * @return how many ids the drafter can emit: {@code min(targetRows, drafterRows)}
     */
    public static int verify(String targetName, Tokenizer targetTokenizer, int targetRows,
                             String drafterName, Tokenizer drafterTokenizer, int drafterRows) {
        int emittable = Math.min(targetRows, drafterRows);
        int targetVocab = targetTokenizer.vocabSize();
        int drafterVocab = drafterTokenizer.vocabSize();
        for (int id = 0; id < emittable; id++) {
            boolean inTarget = id < targetVocab;
            boolean inDrafter = id < drafterVocab;
            if (!inTarget && !inDrafter) {
                // Padding rows on both sides: no token, and the target's logits decide whether it is ever accepted.
                continue;
            }
            String t = inTarget ? targetTokenizer.tokenString(id) : null;
            String d = inDrafter ? drafterTokenizer.tokenString(id) : null;
            if (t == null ? d != null : !t.equals(d)) {
                throw new SpeculaException("drafter '" + drafterName + "' does not share the tokenizer of target '"
                        + targetName + "': token id " + id + " is " + describe(t, targetVocab) + " for the target but "
                        + describe(d, drafterVocab) + " for the drafter (vocabulary sizes " + targetVocab + " and "
                        + drafterVocab + "); use a drafter of the same model family, or the 'ngram' drafter");
            }
        }
        return emittable;
    }

    private static String describe(String token, int vocab) {
        return token == null ? "unknown (vocabulary of " + vocab + ")" : "'" + token + "'";
    }
}
