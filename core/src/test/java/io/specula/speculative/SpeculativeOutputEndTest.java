package io.specula.speculative;

import io.specula.generate.DecodingListener;
import io.specula.speculative.drafter.TokenSequence;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.generate.SamplingParams;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.speculative.drafter.Draft;
import io.specula.speculative.drafter.DraftContext;
import io.specula.speculative.drafter.DraftGate;
import io.specula.speculative.drafter.DraftSession;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.policy.DraftPolicies;
import io.specula.speculative.testing.FakeTokenizer;
import io.specula.speculative.testing.TinyLlama;
import io.specula.speculative.verify.GreedyAcceptance;
import io.specula.speculative.verify.Verifier;
import io.specula.generate.LogitsProcessor;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the output ends (EOS, stop sequences, max tokens, context, cancellation), KV cache rollback and drafter
 * faults. The target drafts for itself with γ = 7 so that every end falls inside an accepted draft.
 */
class SpeculativeOutputEndTest {

    static final CausalLm TARGET = TinyLlama.model(1);
    static final FakeTokenizer TOKENIZER = new FakeTokenizer(TinyLlama.VOCAB);
    static final int[] PROMPT = {5, 9, 2, 7};

    static SpeculativeGenerator speculative(Drafter drafter, int contextLimit, DecodingListener listener) {
        return new SpeculativeGenerator(TARGET, TOKENIZER, List.of(), contextLimit, drafter,
                () -> new DraftPolicies().create(DraftPolicy.FIXED, 7), listener);
    }

    static SpeculativeGenerator selfDrafting() {
        return speculative(new ModelDrafter("self", TARGET), 256, null);
    }

    static GenerationResult plain(GenerationRequest req, int contextLimit) {
        return new PlainGenerator(TARGET, TOKENIZER, List.of(), contextLimit, null).generate(req);
    }

    static GenerationRequest request(int maxTokens, List<String> stops, List<Integer> eos) {
        return new GenerationRequest(PROMPT, maxTokens, SamplingParams.GREEDY, stops, eos, null);
    }

    static void assertSame(GenerationResult actual, GenerationResult expected) {
        assertThat(actual.tokenIds()).containsExactly(expected.tokenIds());
        assertThat(actual.text()).isEqualTo(expected.text());
        assertThat(actual.finishReason()).isEqualTo(expected.finishReason());
    }

    @Test
    void maxTokensInsideADraft() {
        for (int max = 1; max <= 20; max++) {
            GenerationRequest req = request(max, List.of(), List.of());
            GenerationResult r = selfDrafting().generate(req);
            assertSame(r, plain(req, 256));
            assertThat(r.tokenIds()).hasSize(max);
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void eosInsideADraft() {
        int[] reference = plain(request(30, List.of(), List.of()), 256).tokenIds();
        for (int at = 1; at < 20; at++) {
            int eos = reference[at];
            GenerationRequest req = request(30, List.of(), List.of(eos));
            GenerationResult r = selfDrafting().generate(req);
            assertSame(r, plain(req, 256));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            // Ends at the first occurrence of the EOS id, which is not part of the output.
            int first = 0;
            while (reference[first] != eos) {
                first++;
            }
            assertThat(r.tokenIds()).containsExactly(Arrays.copyOf(reference, first));
        }
    }

    @Test
    void stopSequenceInsideADraftAcrossTokens() {
        String referenceText = plain(request(30, List.of(), List.of()), 256).text();
        for (int at = 1; at < 20; at++) {
            String stop = referenceText.substring(at, at + 2);
            GenerationRequest req = request(30, List.of(stop), List.of());
            List<String> deltas = new ArrayList<>();
            GenerationResult r = selfDrafting().generate(req, (id, delta, source) -> deltas.add(delta));
            assertSame(r, plain(req, 256));
            assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
            assertThat(r.text()).isEqualTo(referenceText.substring(0, referenceText.indexOf(stop)));
            assertThat(String.join("", deltas)).isEqualTo(r.text());
        }
    }

    @Test
    void contextLimitEndsWhereTargetOnlyDecodingEnds() {
        for (int limit = PROMPT.length + 1; limit < PROMPT.length + 20; limit++) {
            GenerationRequest req = request(100, List.of(), List.of());
            GenerationResult r = speculative(new ModelDrafter("self", TARGET), limit, null).generate(req);
            assertSame(r, plain(req, limit));
            assertThat(r.finishReason()).isEqualTo(FinishReason.LENGTH);
        }
    }

    @Test
    void cancellationEndsTheRequest() {
        AtomicInteger polls = new AtomicInteger();
        GenerationRequest req = new GenerationRequest(PROMPT, 100, SamplingParams.GREEDY, null, null,
                () -> polls.incrementAndGet() > 2);
        GenerationResult r = selfDrafting().generate(req);
        assertThat(r.finishReason()).isEqualTo(FinishReason.CANCELLED);
        // The first token, then two steps of 7 drafts + 1 bonus token.
        assertThat(r.tokenIds()).hasSize(17);
        assertThat(r.tokenIds()).containsExactly(Arrays.copyOf(plain(request(100, List.of(), List.of()), 256)
                .tokenIds(), 17));
    }

    @Test
    void verifierRollsTheTargetCacheBackToTheAcceptedPrefix() {
        int[] reference = plain(request(12, List.of(), List.of()), 256).tokenIds();
        LogitsProcessor greedy = new LogitsProcessor(SamplingParams.GREEDY);
        try (KvCache cache = TARGET.newCache(64)) {
            TARGET.forward(PROMPT, cache, 1);
            // Draft: the next 2 right tokens, then 3 wrong ones.
            int[] draft = {reference[1], reference[2], (reference[3] + 1) % 48, 0, 0};
            var verdict = new Verifier(TARGET).verify(reference[0], new Draft(draft, null, 1), 1, cache,
                    GreedyAcceptance.INSTANCE, greedy, new TokenCounts(48), new TokenSampler(1L));
            assertThat(verdict.accepted()).isEqualTo(2);
            assertThat(verdict.nextToken()).isEqualTo(reference[3]);
            assertThat(cache.length()).isEqualTo(PROMPT.length + 3);
            // Decoding on from the rolled-back cache gives what a fresh cache gives: nothing rejected lingers.
            float[] next = TARGET.forward(new int[] {reference[3]}, cache, 1)[0];
            try (KvCache fresh = TARGET.newCache(64)) {
                int[] all = new int[PROMPT.length + 4];
                System.arraycopy(PROMPT, 0, all, 0, PROMPT.length);
                System.arraycopy(reference, 0, all, PROMPT.length, 4);
                float[] expected = TARGET.forward(all, fresh, 1)[0];
                assertThat(next).containsExactly(expected);
            }
        }
    }

    @Test
    void drafterSessionRollsBackAndCatchesUp() {
        // A session told "1 of 3 accepted, then token t" must draft what a fresh session over the same text drafts.
        ModelDrafter drafter = new ModelDrafter("noisy", TinyLlama.model(1, 48, 2, 0.05));
        LogitsProcessor greedy = new LogitsProcessor(SamplingParams.GREEDY);
        TokenSequence seq = new TokenSequence(PROMPT);
        DraftContext ctx = new DraftContext(seq, greedy, new TokenCounts(48), new TokenSampler(1L), 48, 64);
        try (DraftSession s = drafter.open(ctx)) {
            // Nothing is processed before the first proposal: it catches up on the prompt and the first token.
            seq.append(11);
            assertThat(s.backlog()).isEqualTo(PROMPT.length + 1);
            Draft d = s.propose(3, DraftGate.ALWAYS);
            assertThat(d.syncedTokens()).isEqualTo(PROMPT.length + 1);
            seq.append(d.tokens()[0]);
            seq.append(13);
            s.accepted(1, 13);
            assertThat(s.backlog()).isEqualTo(1);
            Draft next = s.propose(4, DraftGate.ALWAYS);
            // Catch-up: d1 was already fed, 13 is new.
            assertThat(next.syncedTokens()).isEqualTo(1);
            TokenSequence copy = new TokenSequence(seq.slice(0, seq.length()));
            try (DraftSession fresh = drafter.open(new DraftContext(copy, greedy, new TokenCounts(48),
                    new TokenSampler(1L), 48, 64))) {
                assertThat(next.tokens()).containsExactly(fresh.propose(4, DraftGate.ALWAYS).tokens());
            }
            // All accepted: the last draft was never fed, so the catch-up is it plus the bonus token.
            for (int t : next.tokens()) {
                seq.append(t);
            }
            seq.append(1);
            s.accepted(4, 1);
            assertThat(s.propose(2, DraftGate.ALWAYS).syncedTokens()).isEqualTo(2);
        }
    }

    @Test
    void confidenceGateShortensModelDrafts() {
        ModelDrafter drafter = new ModelDrafter("self", TARGET);
        TokenSequence seq = new TokenSequence(PROMPT);
        DraftContext ctx = new DraftContext(seq, new LogitsProcessor(SamplingParams.GREEDY), new TokenCounts(48),
                new TokenSampler(1L), 48, 64);
        List<Float> seen = new ArrayList<>();
        try (DraftSession s = drafter.open(ctx)) {
            Draft d = s.propose(6, (pos, p) -> {
                seen.add(p);
                return pos < 2;
            });
            assertThat(d.tokens()).hasSize(2);
            assertThat(seen).hasSize(3).allMatch(p -> p > 0 && p <= 1);
        }
    }

    @Test
    void aFailingDrafterFallsBackToTheTargetAlone() {
        List<String> faults = new ArrayList<>();
        DecodingListener listener = new DecodingListener() {
            @Override
            public void onDrafterFault(String drafter, Throwable cause) {
                faults.add(drafter + ": " + cause.getMessage());
            }
        };
        GenerationRequest req = request(40, List.of(), List.of());
        GenerationResult expected = plain(req, 256);

        // NaN logits from the drafter's 12th forward pass on (during its second proposal).
        GenerationResult nan = speculative(new ModelDrafter("nan", TinyLlama.nanAfter(TinyLlama.model(1), 12)), 256,
                listener).generate(req);
        assertSame(nan, expected);
        assertThat(faults).hasSize(1);
        assertThat(faults.get(0)).startsWith("nan: drafter 'nan' produced NaN logits");
        assertThat(nan.stats().acceptedTokens()).isPositive();

        // A drafter that throws on its 3rd proposal.
        Drafter throwing = new Drafter() {
            @Override
            public String name() {
                return "throwing";
            }

            @Override
            public DraftSession open(DraftContext context) {
                DraftSession inner = new ModelDrafter("self", TARGET).open(context);
                AtomicInteger calls = new AtomicInteger();
                return new DraftSession() {
                    @Override
                    public Draft propose(int maxTokens, DraftGate gate) {
                        if (calls.incrementAndGet() == 3) {
                            throw new IllegalStateException("boom");
                        }
                        return inner.propose(maxTokens, gate);
                    }

                    @Override
                    public void accepted(int acceptedCount, int nextToken) {
                        inner.accepted(acceptedCount, nextToken);
                    }

                    @Override
                    public void close() {
                        inner.close();
                    }
                };
            }
        };
        GenerationResult thrown = speculative(throwing, 256, listener).generate(req);
        assertSame(thrown, expected);
        assertThat(faults).hasSize(2).last().isEqualTo("throwing: boom");
        DecodingStats stats = thrown.stats();
        assertThat(stats.drafts()).isEqualTo(2);

        // A drafter that cannot even open (e.g. its cache does not fit).
        Drafter broken = new Drafter() {
            @Override
            public String name() {
                return "broken";
            }

            @Override
            public DraftSession open(DraftContext context) {
                throw new IllegalStateException("no memory");
            }
        };
        assertSame(speculative(broken, 256, listener).generate(req), expected);
        assertThat(faults).hasSize(3);
    }
}
