package io.specula.generate;

import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.tokenizer.Tokenizer;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Target-only decoding: one forward pass per output token. The reference speculative decoding must reproduce. */
public final class PlainGenerator implements Generator {

    private final CausalLm model;
    private final Tokenizer tokenizer;
    private final List<Integer> defaultEosIds;
    private final ContextWindow context;
    private final DecodingListener decodingListener;

    /**
     * @param contextLimit     the longest sequence (prompt + output) one request may use; at most the model's context
     * @param decodingListener statistics of each step and request
     */
    public PlainGenerator(CausalLm model, Tokenizer tokenizer, List<Integer> defaultEosIds, int contextLimit,
                          DecodingListener decodingListener) {
        this.model = model;
        this.tokenizer = tokenizer;
        this.defaultEosIds = List.copyOf(defaultEosIds);
        this.context = new ContextWindow(Math.min(contextLimit, model.config().maxPositionEmbeddings()));
        this.decodingListener = decodingListener == null ? DecodingListener.NONE : decodingListener;
    }

    @Override
    public GenerationResult generate(GenerationRequest request, GenerationListener listener) {
        long started = System.nanoTime();
        int[] prompt = request.promptIds();
        int capacity = context.capacity(prompt.length, request.maxTokens(), 0);
        Set<Integer> eos = eosIds(request, defaultEosIds);
        OutputSink sink = new OutputSink(request, eos, tokenizer.newStreamingDetokenizer(), listener);
        LogitsProcessor processor = new LogitsProcessor(request.sampling());
        TokenSampler sampler = new TokenSampler(request.sampling().seed());
        TokenCounts history = request.newHistory(model.vocabSize(), eos);
        long steps = 0;
        long promptNanos;
        long decodeNanos = 0;
        try (KvCache cache = model.newCache(capacity)) {
            float[] logits = model.forward(prompt, cache, 1)[0];
            promptNanos = System.nanoTime() - started;
            while (true) {
                if (request.cancelled().getAsBoolean()) {
                    sink.finish(FinishReason.CANCELLED);
                    break;
                }
                int token = nextToken(logits, processor, sampler, history, sink.tokenCount());
                history.add(token);
                if (sink.accept(token, TokenSource.TARGET)) {
                    break;
                }
                if (cache.length() >= cache.capacity()) {
                    sink.finish(FinishReason.LENGTH);
                    break;
                }
                long t0 = System.nanoTime();
                logits = model.forward(new int[] {token}, cache, 1)[0];
                long dt = System.nanoTime() - t0;
                decodeNanos += dt;
                steps++;
                decodingListener.onStep(new DecodingListener.StepEvent(0, 0, 1, 0, dt));
            }
        }
        DecodingStats stats = new DecodingStats(false, steps, 0, 0, 0, new long[0], new long[0], sink.tokenCount(),
                promptNanos, 0, decodeNanos, System.nanoTime() - started);
        decodingListener.onRequestFinished(stats, sink.finishReason());
        return new GenerationResult(sink.tokens(), sink.text(), sink.finishReason(), prompt.length, stats);
    }

    /**
     * The token at output position {@code position} from its row of logits: the argmax for greedy requests, otherwise
     * the draw keyed to that position from the processed distribution (the draw speculative decoding reproduces).
     */
    public static int nextToken(float[] logits, LogitsProcessor processor, TokenSampler sampler, TokenCounts history,
                                int position) {
        if (processor.params().isGreedy()) {
            return processor.argmax(logits, history);
        }
        return sampler.sample(processor.probabilities(logits, history), position);
    }

    /** The request's end-of-sequence ids, or the model's when the request names none. */
    public static Set<Integer> eosIds(GenerationRequest request, List<Integer> defaults) {
        return new HashSet<>(request.eosIds().isEmpty() ? defaults : request.eosIds());
    }
}
