package io.specula.speculative.verify;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.speculative.drafter.Draft;

import java.util.function.Consumer;

/**
 * Scores a draft with ONE target forward pass and applies the acceptance rule.
 *
 * <p>The target's cache holds everything before the sequence's last token ({@code pending}); the pass feeds
 * {@code [pending, d1 .. dγ]} and asks for γ+1 logit rows: row i predicts the token after the i-th of them. With an
 * empty draft this is exactly a plain decoding step. Afterwards the cache is rolled back to the accepted prefix
 * ({@link KvCache#truncate}): pending and the accepted drafts stay; the target's own next token becomes the new
 * pending token.
 */
public final class Verifier {

    private final CausalLm target;

    public Verifier(CausalLm target) {
        this.target = target;
    }

    public Verdict verify(int pending, Draft draft, int position, KvCache cache, AcceptanceRule rule,
                          LogitsProcessor processor, TokenCounts history, TokenSampler sampler) {
        return verify(pending, draft, position, cache, rule, processor, history, sampler, null);
    }

    /**
     * As above ({@code position}: the output position the pass's first row decides, see {@link AcceptanceRule#judge});
     * {@code scored}, when not null, is given the pass's γ+1 logit rows (the target's own, before any
     * processing) so that a caller can record what the target decided.
     */
    public Verdict verify(int pending, Draft draft, int position, KvCache cache, AcceptanceRule rule,
                          LogitsProcessor processor, TokenCounts history, TokenSampler sampler,
                          Consumer<float[][]> scored) {
        int[] drafted = draft.tokens();
        int[] input = new int[drafted.length + 1];
        input[0] = pending;
        System.arraycopy(drafted, 0, input, 1, drafted.length);
        int before = cache.length();
        float[][] logits = target.forward(input, cache, input.length);
        Verdict verdict = rule.judge(logits, draft, position, processor, history, sampler);
        if (scored != null) {
            scored.accept(logits);
        }
        cache.truncate(before + 1 + verdict.accepted());
        return verdict;
    }
}
