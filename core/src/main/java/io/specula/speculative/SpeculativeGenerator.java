package io.specula.speculative;

import io.specula.generate.ContextWindow;
import io.specula.speculative.drafter.TokenSequence;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.Generator;
import io.specula.generate.LogitsProcessor;
import io.specula.generate.OutputSink;
import io.specula.generate.PlainGenerator;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.generate.TokenSource;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.speculative.drafter.Draft;
import io.specula.speculative.drafter.DraftContext;
import io.specula.speculative.drafter.DraftSession;
import io.specula.speculative.drafter.Drafter;
import io.specula.speculative.policy.DraftLengthPolicy;
import io.specula.speculative.policy.StepContext;
import io.specula.speculative.policy.StepOutcome;
import io.specula.speculative.stats.SpeculationStatistics;
import io.specula.speculative.verify.AcceptanceRule;
import io.specula.speculative.verify.Verdict;
import io.specula.speculative.verify.Verifier;
import io.specula.tokenizer.Tokenizer;

import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Speculative decoding: a drafter proposes γ tokens, the target scores all of them in one forward pass, an acceptance
 * rule keeps a prefix and adds the target's own next token. The output is what {@link PlainGenerator} produces: the
 * same tokens for greedy and seeded sampling requests (whatever draft lengths the policy chose), the same distribution
 * for unseeded ones. Random draws are keyed to output positions ({@link TokenSampler}), never consumed in order.
 *
 * <p>A request whose policy never drafts costs what plain decoding costs: the drafter's session allocates and
 * processes nothing until the first draft, whose catch-up (the prompt, then the tokens of plain steps) the policy
 * prices before choosing it.
 *
 * <pre>
 *   prefill the target (first token from its logits); the drafter processes nothing yet
 *   loop: policy picks γ (0: a plain step) → drafter catches up and proposes ≤ γ → target verifies [last token, drafts]
 *         in one pass →
 *         {@link AcceptanceRule} → output sink gets accepted drafts and the target's token one at a time (it may stop
 *         mid-draft: EOS, stop sequence, max tokens) → caches rolled back to the accepted prefix
 * </pre>
 *
 * <p>A drafter that throws (or produces NaN logits) is dropped for the rest of the request, which finishes with the
 * target alone; the fault goes to {@link DecodingListener#onDrafterFault}. Thread-safe: each call decodes its own
 * sequence with its own caches and policy.
 */
public final class SpeculativeGenerator implements Generator {

    private final CausalLm target;
    private final Tokenizer tokenizer;
    private final List<Integer> defaultEosIds;
    private final ContextWindow context;
    private final Drafter drafter;
    private final Supplier<DraftLengthPolicy> policies;
    private final DecodingListener decodingListener;
    private final Verifier verifier;
    private final VerificationObserver observer;
    /** Where requests without a seed get theirs (their draws are keyed like every request's). */
    private volatile LongSupplier unseededSeeds = () -> ThreadLocalRandom.current().nextLong();

    /**
     * @param target           the model whose output this must reproduce
     * @param tokenizer        the target's tokenizer (streaming text, stop sequences)
     * @param defaultEosIds    the target's end-of-sequence ids, used when a request names none
     * @param contextLimit     the longest sequence (prompt + output) one request may use
     * @param drafter          proposes the drafts; check its vocabulary with
     *                         {@link io.specula.speculative.drafter.VocabularyCheck} when loading a model drafter
     * @param policies         a fresh draft-length policy per request (e.g. {@code () -> policies.create(policy, γmax)})
     * @param decodingListener statistics of each step and request (e.g. a
     *                         {@link io.specula.speculative.stats.SpeculationStatistics})
     */
    public SpeculativeGenerator(CausalLm target, Tokenizer tokenizer, List<Integer> defaultEosIds, int contextLimit,
                                Drafter drafter, Supplier<DraftLengthPolicy> policies, DecodingListener decodingListener) {
        this(target, tokenizer, defaultEosIds, contextLimit, drafter, policies, decodingListener, null);
    }

    /**
     * As above, with an observer of the target's decisions (the adaptive drafter's example collector); {@code null}
     * for none.
     */
    public SpeculativeGenerator(CausalLm target, Tokenizer tokenizer, List<Integer> defaultEosIds, int contextLimit,
                                Drafter drafter, Supplier<DraftLengthPolicy> policies, DecodingListener decodingListener,
                                VerificationObserver observer) {
        this.observer = observer == null ? VerificationObserver.NONE : observer;
        this.target = target;
        this.tokenizer = tokenizer;
        this.defaultEosIds = List.copyOf(defaultEosIds);
        this.context = new ContextWindow(Math.min(contextLimit, target.config().maxPositionEmbeddings()));
        this.drafter = drafter;
        this.policies = policies;
        this.decodingListener = decodingListener == null ? DecodingListener.NONE : decodingListener;
        this.verifier = new Verifier(target);
    }

    public Drafter drafter() {
        return drafter;
    }

    /** Tests: the seeds of requests that set none come from here, so an unseeded run can be repeated exactly. */
    SpeculativeGenerator unseededSeeds(LongSupplier seeds) {
        this.unseededSeeds = seeds;
        return this;
    }

    @Override
    public GenerationResult generate(GenerationRequest request, GenerationListener listener) {
        return generate(request, policies.get(), listener);
    }

    /** Generates with the given policy (one per request: policies keep per-request state). */
    public GenerationResult generate(GenerationRequest request, DraftLengthPolicy policy, GenerationListener listener) {
        return new Run(request, policy, listener).run();
    }

    /** The state of one request. */
    private final class Run {
        private final GenerationRequest request;
        private final DraftLengthPolicy policy;
        private final OutputSink sink;
        private final LogitsProcessor processor;
        private final TokenSampler sampler;
        private final TokenCounts history;
        private final TokenSequence sequence;
        private final AcceptanceRule rule;
        private final int maxDraft;
        private DraftSession session;
        private VerificationObserver.Trace trace;
        private float[][] scoredRows;

        /** This request's own count, the same the engine keeps for all requests: its figures are the result's. */
        private final SpeculationStatistics counts = new SpeculationStatistics(0);

        Run(GenerationRequest request, DraftLengthPolicy policy, GenerationListener listener) {
            this.request = request;
            this.policy = policy;
            java.util.Set<Integer> eos = PlainGenerator.eosIds(request, defaultEosIds);
            this.sink = new OutputSink(request, eos, tokenizer.newStreamingDetokenizer(), listener);
            this.processor = new LogitsProcessor(request.sampling());
            Long seed = request.sampling().seed();
            this.sampler = new TokenSampler(seed != null ? seed : unseededSeeds.getAsLong());
            // The same history (penalties, and the constraint on the output) for drafts and verification.
            this.history = request.newHistory(target.vocabSize(), eos);
            this.sequence = new TokenSequence(request.promptIds());
            this.rule = AcceptanceRule.forParams(request.sampling());
            this.maxDraft = policy.maxDraftTokens();
        }

        GenerationResult run() {
            long started = System.nanoTime();
            int[] prompt = request.promptIds();
            // Room for one verification pass beyond the output: γ drafts are scored even when fewer are kept.
            int capacity = context.capacity(prompt.length, request.maxTokens(), maxDraft);
            long promptNanos;
            try (KvCache cache = target.newCache(capacity)) {
                float[] logits = target.forward(prompt, cache, 1)[0];
                openDrafter(capacity);
                openTrace(prompt);
                promptNanos = System.nanoTime() - started;
                // The first token comes from the prompt's logits, exactly as in plain decoding.
                int first = PlainGenerator.nextToken(logits, processor, sampler, history, 0);
                traceToken(logits, first);
                if (!emit(first, TokenSource.TARGET)) {
                    decode(cache);
                }
            } finally {
                closeDrafter();
                closeTrace();
                policy.finish(sink.tokenCount());
            }
            DecodingStats stats = counts.requestStats(maxDraft, sink.tokenCount(), promptNanos,
                    System.nanoTime() - started);
            decodingListener.onRequestFinished(stats, sink.finishReason());
            return new GenerationResult(sink.tokens(), sink.text(), sink.finishReason(), prompt.length, stats);
        }

        private void decode(KvCache cache) {
            while (true) {
                if (request.cancelled().getAsBoolean()) {
                    sink.finish(FinishReason.CANCELLED);
                    return;
                }
                // The pass feeds the last token plus γ drafts: γ + 1 free positions needed.
                int room = cache.capacity() - cache.length();
                if (room < 1) {
                    sink.finish(FinishReason.LENGTH);
                    return;
                }
                // A step emits at most γ + 1 tokens; drafting past the token limit is wasted work.
                int remaining = request.maxTokens() - sink.tokenCount();
                int limit = Math.max(0, Math.min(maxDraft, Math.min(room - 1, remaining - 1)));
                int gamma = session == null ? 0
                        : policy.nextDraftLength(new StepContext(limit, session.backlog(), remaining));

                Draft draft = Draft.EMPTY;
                long stepDraftNanos = 0;
                if (gamma > 0) {
                    long t0 = System.nanoTime();
                    try {
                        draft = checked(session.propose(gamma, policy.gate()), gamma);
                    } catch (RuntimeException e) {
                        drafterFault(e);
                        draft = Draft.EMPTY;
                    }
                    stepDraftNanos = System.nanoTime() - t0;
                }

                long t1 = System.nanoTime();
                Verdict verdict = verifier.verify(sequence.last(), draft, sink.tokenCount(), cache, rule, processor,
                        history, sampler, trace == null ? null : rows -> scoredRows = rows);
                long stepVerifyNanos = System.nanoTime() - t1;

                int emitted = 0;
                boolean done = false;
                int[] tokens = draft.tokens();
                float[][] rows = scoredRows;
                scoredRows = null;
                for (int i = 0; i < verdict.accepted() && !done; i++) {
                    traceToken(rows == null ? null : rows[i], tokens[i]);
                    done = emit(tokens[i], TokenSource.DRAFTER);
                    emitted++;
                }
                if (!done) {
                    traceToken(rows == null ? null : rows[verdict.accepted()], verdict.nextToken());
                    done = emit(verdict.nextToken(), TokenSource.TARGET);
                    emitted++;
                }
                if (trace != null && draft.size() > 0) {
                    try {
                        trace.step(draft.size(), verdict.accepted());
                    } catch (RuntimeException e) {
                        trace = null;
                    }
                }

                policy.observe(new StepOutcome(gamma, draft.size(), verdict.accepted(), draft.syncedTokens(),
                        stepDraftNanos, stepVerifyNanos));
                DecodingListener.StepEvent step = new DecodingListener.StepEvent(draft.size(), verdict.accepted(),
                        emitted, stepDraftNanos, stepVerifyNanos);
                counts.onStep(step);
                decodingListener.onStep(step);
                if (done) {
                    return;
                }
                if (gamma > 0 && session != null) {
                    try {
                        session.accepted(verdict.accepted(), verdict.nextToken());
                    } catch (RuntimeException e) {
                        drafterFault(e);
                    }
                }
            }
        }

        /** Opens the observer's trace of this request (after the drafter, so it can tell which session drafts). */
        private void openTrace(int[] prompt) {
            try {
                trace = observer.open(prompt, session);
            } catch (RuntimeException e) {
                trace = null;
            }
        }

        /** Tells the trace which row chose which token; an observer that fails is dropped, the output unaffected. */
        private void traceToken(float[] row, int token) {
            if (trace != null && row != null) {
                try {
                    trace.token(row, token);
                } catch (RuntimeException e) {
                    trace = null;
                }
            }
        }

        private void closeTrace() {
            if (trace != null) {
                VerificationObserver.Trace t = trace;
                trace = null;
                try {
                    t.close(sink.finishReason());
                } catch (RuntimeException ignored) {
                    // Observation must not break decoding.
                }
            }
        }

        /** Appends a token to the output; true when the output is complete. */
        private boolean emit(int token, TokenSource source) {
            history.add(token);
            sequence.append(token);
            return sink.accept(token, source);
        }

        /** A draft the target can score: at most γ ids, each one the target can emit, q rows over its ids. */
        private Draft checked(Draft draft, int gamma) {
            int vocab = target.vocabSize();
            if (draft.size() > gamma) {
                throw new IllegalStateException("drafter proposed " + draft.size() + " tokens, " + gamma
                        + " were asked for");
            }
            for (int i = 0; i < draft.size(); i++) {
                int t = draft.tokens()[i];
                if (t < 0 || t >= vocab) {
                    throw new IllegalStateException("drafter proposed id " + t + ", outside the target's 0.."
                            + (vocab - 1));
                }
                if (draft.q() != null && draft.q()[i].length != vocab) {
                    throw new IllegalStateException("drafter's q has " + draft.q()[i].length + " entries, the target "
                            + vocab);
                }
            }
            return draft;
        }

        private void openDrafter(int capacity) {
            if (drafter == null || maxDraft == 0) {
                return;
            }
            try {
                // Nothing is processed yet: the first draft catches up on the prompt, if the policy ever drafts.
                session = drafter.open(new DraftContext(sequence, processor, history, rule.drafterSampler(sampler),
                        target.vocabSize(), capacity));
            } catch (RuntimeException e) {
                drafterFault(e);
            }
        }

        /** Drops the drafter for the rest of the request: the target alone decodes on, output unaffected. */
        private void drafterFault(RuntimeException e) {
            closeDrafter();
            decodingListener.onDrafterFault(drafter.name(), e);
        }

        private void closeDrafter() {
            if (session != null) {
                DraftSession s = session;
                session = null;
                try {
                    s.close();
                } catch (RuntimeException ignored) {
                    // The drafter already failed or the request is over; its cache is garbage either way.
                }
            }
        }
    }
}
