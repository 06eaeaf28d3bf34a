package io.specula.speculative.drafter;

import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;

import java.util.Arrays;

/**
 * Drafts with a second, smaller {@link CausalLm} that has its own KV cache per request, one token at a time.
 *
 * <p>Greedy requests draft the drafter's argmax. Sampling requests draw each draft token from q, the drafter's
 * distribution after the request's own penalties, temperature, top-k and top-p: rejection sampling is exact for any
 * q, but it only accepts well when q resembles p, and a greedy drafter under a sampling target is the transformers
 * bug #32867 (acceptance collapses as the temperature rises).
 *
 * <p>The drafter may have more output rows than the target can emit (padded embeddings); those ids are masked so a
 * draft only ever holds ids the target can produce. Check that the two tokenizers agree with {@link VocabularyCheck}
 * when loading.
 *
 * <p>The drafter's model is not owned: closing this drafter leaves it open.
 */
public final class ModelDrafter implements Drafter {

    private final String name;
    private final CausalLm model;

    public ModelDrafter(String name, CausalLm model) {
        this.name = name;
        this.model = model;
    }

    @Override
    public String name() {
        return name;
    }

    public CausalLm model() {
        return model;
    }

    @Override
    public DraftSession open(DraftContext context) {
        return new Session(context);
    }

    private final class Session implements DraftSession {

        private final DraftContext ctx;
        private final int capacity;
        /** Allocated at the first proposal: a request whose policy never drafts allocates and processes nothing. */
        private KvCache cache;
        /** Sequence length when the last draft was proposed: the cache is valid up to there plus accepted drafts. */
        private int proposedAt = -1;

        Session(DraftContext ctx) {
            this.ctx = ctx;
            this.capacity = Math.min(ctx.capacity(), model.config().maxPositionEmbeddings());
        }

        @Override
        public int backlog() {
            return ctx.sequence().length() - (cache == null ? 0 : cache.length());
        }

        @Override
        public Draft propose(int maxTokens, DraftGate gate) {
            TokenSequence seq = ctx.sequence();
            int n = seq.length();
            // Drafting k tokens needs n + k - 1 positions in the cache (the last draft is never fed).
            int room = capacity - n + 1;
            int max = Math.min(maxTokens, room);
            if (max <= 0) {
                return Draft.EMPTY;
            }
            if (cache == null) {
                cache = model.newCache(capacity);
            }
            // Catch up: everything after what the cache holds (the whole prompt the first time), ending with the
            // target's last token.
            int start = cache.length();
            if (start >= n) {
                throw new IllegalStateException("drafter cache (" + start + ") is ahead of the sequence (" + n + ")");
            }
            int synced = n - start;
            proposedAt = n;
            float[] logits = forward(seq.slice(start, n));

            LogitsProcessor processor = ctx.processor();
            TokenCounts history = ctx.history();
            boolean greedy = ctx.greedy();
            int[] tokens = new int[max];
            float[][] q = greedy ? null : new float[max][];
            int count = 0;
            // The output position of the first draft: draws are keyed to output positions (TokenSampler).
            int position = seq.outputLength();
            try {
                while (count < max) {
                    float[] row = restrict(logits);
                    if (gate != DraftGate.ALWAYS && !gate.keepDrafting(count, topProbability(row))) {
                        break;
                    }
                    int token;
                    if (greedy) {
                        token = processor.argmax(row, history);
                    } else {
                        float[] dist = processor.probabilities(row, history);
                        token = ctx.sampler().sample(dist, position + count);
                        q[count] = dist;
                    }
                    tokens[count++] = token;
                    // Later draft positions see this one in the penalty history, as the target will.
                    history.add(token);
                    if (count < max) {
                        logits = forward(new int[] {token});
                    }
                }
            } finally {
                for (int i = 0; i < count; i++) {
                    history.remove(tokens[i]);
                }
            }
            if (count < max) {
                tokens = Arrays.copyOf(tokens, count);
                q = q == null ? null : Arrays.copyOf(q, count);
            }
            return new Draft(tokens, q, synced);
        }

        private float[] forward(int[] tokens) {
            int rows = model.vocabSize();
            for (int t : tokens) {
                if (t >= rows) {
                    // The target emitted a token the drafter has no embedding for: it cannot follow this text.
                    throw new DrafterException("drafter '" + name + "' cannot read token id " + t + " (it has "
                            + rows + " embedding rows)");
                }
            }
            float[] logits = model.forward(tokens, cache, 1)[0];
            for (float v : logits) {
                if (Float.isNaN(v)) {
                    throw new DrafterException("drafter '" + name + "' produced NaN logits at position "
                            + (cache.length() - 1));
                }
            }
            return logits;
        }

        /** The drafter's logits over exactly the ids the target can emit (padding rows dropped, missing ones -inf). */
        private float[] restrict(float[] logits) {
            int n = ctx.vocabSize();
            if (logits.length == n) {
                return logits;
            }
            float[] row = new float[n];
            int common = Math.min(n, logits.length);
            System.arraycopy(logits, 0, row, 0, common);
            Arrays.fill(row, common, n, Float.NEGATIVE_INFINITY);
            return row;
        }

        @Override
        public void accepted(int acceptedCount, int nextToken) {
            if (proposedAt < 0) {
                return;
            }
            // Valid: the sequence as it was when drafting, plus the accepted drafts. The correction/bonus token (and
            // an accepted last draft, which was never fed) are caught up on at the next proposal.
            int valid = proposedAt + acceptedCount;
            if (cache != null && cache.length() > valid) {
                cache.truncate(valid);
            }
            proposedAt = -1;
        }

        @Override
        public void close() {
            if (cache != null) {
                cache.close();
            }
        }
    }

    /** Largest softmax probability of raw logits (temperature 1, no penalties): the drafter's own confidence. */
    static float topProbability(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            if (v > max) {
                max = v;
            }
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        return (float) (1.0 / sum);
    }
}
