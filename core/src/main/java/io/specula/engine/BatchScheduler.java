package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.model.BatchedCausalLm;
import io.specula.model.BatchedCausalLm.Segment;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.speculative.policy.AdaptiveEstimates;
import io.specula.speculative.policy.DraftLengthPolicy;
import io.specula.speculative.policy.DraftPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * Continuous batching: the forward passes that concurrent requests ask for are gathered into shared passes over a
 * {@link BatchedCausalLm}, which reads each weight once for all of them.
 *
 * <p><b>How it fits the request path.</b> Requests keep decoding on their own threads with the same generators
 * ({@code PlainGenerator}, {@code SpeculativeGenerator}, the drafter's session), so everything a request decides —
 * sampling, acceptance, stop sequences, limits, cancellation, its statistics — is what it would be alone. Only the
 * model they call is {@link #share shared}: its {@code forward} hands the positions to this scheduler and waits.
 * One scheduler thread runs the passes. Requests join when they open a cache and leave when they close it, between
 * passes; a pass only ever holds one step of each.
 *
 * <p><b>When a pass starts.</b> As soon as every running request (a thread with an open cache of a shared model) is
 * waiting for one, or the waiting positions fill a pass, or the gathering wait is over: counted from the end of the
 * previous pass (not from when the oldest asked, or a request that waited through a long pass would start the next
 * one before the others it shared that pass with are back), at most {@code maxWait}, by default a quarter of the
 * last pass's time (at least {@value #MIN_GATHER_MICROS} µs). So requests that decode in step meet in the same
 * passes, and one that stalls (a slow stream consumer) costs the others a bounded share of each pass.
 *
 * <p><b>Which model.</b> Where requests wait for different models, the smaller model's pass goes first (the drafter's,
 * a fraction of the target's): the requests still drafting finish their drafts while the others wait for the
 * target, and all of them then verify in one target pass and draft again together, in step (speculative requests
 * fall out of step otherwise, each one's target pass with only part of the batch). The oldest waiting call is served
 * first anyway once it has waited {@value #PATIENCE_PASSES} of its model's passes, so nothing starves.
 *
 * <p><b>What a pass holds.</b> Up to {@code maxPositionsPerPass} positions: first the waiting steps (a plain step's
 * 1 position, a verification's γ+1) oldest first, whole; then prompts, in chunks that fill what is left (the oldest
 * request, if it is a prompt, is always given a share, so a stream of steps cannot starve it). A step or prompt
 * longer than a pass is split over several: each chunk extends the sequence's cache, so the result is the same.
 *
 * <p><b>Lossless.</b> A sequence's logits in a shared pass are bit for bit those of its own pass (the kernels are
 * batch-invariant: {@link io.specula.kernel.MatMul}), so greedy outputs are identical and sampled ones follow the
 * same seeded draws. A pass that fails is run again one sequence at a time, so a fault stays with its request.
 *
 * <p>Over ~400 lines because the queue, the running set, the gathering rule and the pass being built share one lock
 * and one invariant (a request is in at most one pass at a time, and is counted as waiting exactly while its call is
 * queued); split, each part would have to re-derive it. The shared model and cache live in {@link SharedModel}, the
 * figures in {@link BatchStatistics}, the draft-length cap in {@link BatchAwarePolicy}.
 */
public final class BatchScheduler implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BatchScheduler.class);

    /** Positions of the largest verification (γmax 16 + 1): anything this small is a decoding step, served whole. */
    private static final int STEP_POSITIONS = 17;
    /** The shortest automatic gathering wait: waking a thread on a busy machine takes this long. */
    static final long MIN_GATHER_MICROS = 1000;
    /** How many of its model's passes the oldest call waits, at most, while a smaller model's passes go first. */
    static final int PATIENCE_PASSES = 2;

    private final int maxPositions;
    /** The configured gathering wait, or -1: automatic (a quarter of the last pass). */
    private final long maxWaitNanos;
    /** When the last pass ended, how long it took, and each model's last pass time (scheduler thread and lock). */
    private long lastPassEnd;
    private long lastPassNanos;
    private final Map<BatchedCausalLm, Long> passNanos = new java.util.WeakHashMap<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition submitted = lock.newCondition();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    /** The running requests: threads with open caches of a shared model, and how many caches each has open. */
    private final Map<Thread, Integer> running = new HashMap<>();
    /** Running requests waiting for a pass. */
    private int blocked;
    private boolean closed;
    private final BatchStatistics statistics;
    private final Thread thread;
    /** The target model: its measured pass costs are what the batch-aware draft policy reads (the newest version). */
    private volatile BatchedCausalLm target;
    /** A smaller model sharing passes (the drafter), whose pass costs the batch-aware policy reads too; or null. */
    private volatile BatchedCausalLm drafter;

    private BatchScheduler(BatchingConfig config, BatchedCausalLm target) {
        this.target = target;
        this.maxPositions = config.maxPositionsPerPass();
        this.maxWaitNanos = config.maxWait() == null ? -1 : config.maxWait().toNanos();
        this.statistics = new BatchStatistics(maxPositions);
        this.thread = new Thread(this::loop, "specula-batch-scheduler");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * A scheduler for the config, or null when batching is off or the target has no batched pass (DJL, Gemma 3, a
     * longrope model: {@link BatchedCausalLm#sharesPasses()}).
     */
    public static BatchScheduler create(BatchingConfig config, CausalLm target) {
        return config.enabled() && target instanceof BatchedCausalLm b && b.sharesPasses()
                ? new BatchScheduler(config, b) : null;
    }

    /**
     * The model as requests call it: with a scheduler and a batched model, each {@code forward} joins the next shared
     * pass; otherwise the model itself (per-request passes).
     */
    public static CausalLm share(BatchScheduler scheduler, CausalLm model) {
        if (scheduler != null && model instanceof BatchedCausalLm b && b.sharesPasses()) {
            if (work(b.config()) < work(scheduler.target.config())) {
                scheduler.drafter = b;
            }
            return new SharedModel(scheduler, b);
        }
        return model;
    }

    /** Multiply-adds of one position through the model's linear layers: which of two models' passes is cheaper. */
    static long work(ModelConfig c) {
        long h = c.hiddenSize();
        return c.numLayers() * h * ((long) c.qDim() * 2 + 2L * c.kvDim() + 3L * c.intermediateSize())
                + (long) c.vocabSize() * h;
    }

    /**
     * After a target update ({@code SpeculaEngine.updateTarget}): the batch-aware policy reads the new target's pass
     * costs from now on. A new target without shared passes leaves the old one's figures in place (its requests
     * do not share passes, so nothing uses them).
     */
    void targetChanged(CausalLm next) {
        if (next instanceof BatchedCausalLm b && b.sharesPasses()) {
            target = b;
        }
    }

    /**
     * The adaptive draft policy with the batch in view ({@link BatchAwarePolicy}); other policies as they are (a
     * fixed draft length is what was asked for).
     *
     * @param estimates the engine-wide acceptance and costs of the adaptive policy
     */
    DraftLengthPolicy withBatchInView(DraftLengthPolicy policy, AdaptiveEstimates estimates) {
        if (!DraftPolicy.ADAPTIVE.name().equalsIgnoreCase(policy.name())) {
            return policy;
        }
        return new BatchAwarePolicy(policy, new BatchAwarePolicy.BatchView(this::runningRequests,
                () -> statistics.costByWidth(target),
                () -> drafter == null ? null : statistics.costByWidth(drafter)),
                () -> estimates.snapshot().acceptanceByPosition(), estimates::costs);
    }

    public BatchStatistics statistics() {
        return statistics;
    }

    /** One request's forward call, served by one or more passes (chunks). */
    private static final class Pending {
        final BatchedCausalLm model;
        final KvCache cache;
        final int[] tokens;
        final int numLogits;
        final int startLength;
        final long since = System.nanoTime();
        final boolean counted;
        final float[][] logits;
        /** Signalled when the call is finished: only its own thread wakes. */
        final Condition served;
        int done;
        int rows;
        Throwable error;
        boolean finished;

        Pending(BatchedCausalLm model, KvCache cache, int[] tokens, int numLogits, boolean counted, Condition served) {
            this.served = served;
            this.model = model;
            this.cache = cache;
            this.tokens = tokens;
            this.numLogits = numLogits;
            this.startLength = cache.length();
            this.counted = counted;
            this.logits = new float[numLogits][];
        }

        int remaining() {
            return tokens.length - done;
        }
    }

    /** A chunk of a pending call in the pass being built. */
    private record Pick(Pending pending, int take, Segment segment) {
    }

    float[][] submit(BatchedCausalLm model, int[] tokens, KvCache cache, int numLogits) {
        check(model.config(), tokens, cache, numLogits);
        if (tokens.length == 0) {
            return new float[0][];
        }
        lock.lock();
        Pending p;
        try {
            if (closed) {
                throw new SpeculaException("engine closed: no more forward passes");
            }
            if (queue.isEmpty() && running.size() <= 1 && tokens.length <= maxPositions) {
                p = null; // alone: its own pass on its own thread, no hand-off
            } else {
                p = new Pending(model, cache, tokens.clone(), numLogits, running.containsKey(Thread.currentThread()),
                        lock.newCondition());
                queue.add(p);
                if (p.counted) {
                    blocked++;
                }
                submitted.signal();
                while (!p.finished) {
                    p.served.awaitUninterruptibly();
                }
            }
        } finally {
            lock.unlock();
        }
        if (p == null) {
            return model.forward(tokens, cache, numLogits);
        }
        if (p.error instanceof RuntimeException e) {
            throw e;
        }
        if (p.error instanceof Error e) {
            throw e;
        }
        if (p.error != null) {
            throw new SpeculaException("forward pass failed: " + p.error, p.error);
        }
        return p.logits;
    }

    /** What the model would refuse before any work, refused here before the call is split into chunks. */
    private static void check(ModelConfig c, int[] tokens, KvCache cache, int numLogits) {
        if (numLogits < 0 || numLogits > tokens.length) {
            throw new IllegalArgumentException("numLogits " + numLogits + " for " + tokens.length + " tokens");
        }
        if (cache.length() + tokens.length > cache.capacity()) {
            throw new SpeculaException("KV cache: " + (cache.length() + tokens.length) + " positions needed but the "
                    + "sequence's cache holds " + cache.capacity() + " (prompt + max tokens exceed the configured context)");
        }
        for (int id : tokens) {
            if (id < 0 || id >= c.vocabSize()) {
                throw new SpeculaException("token id " + id + " is outside the model's vocabulary 0.." + (c.vocabSize() - 1));
            }
        }
    }

    private void loop() {
        while (true) {
            List<Pick> pass;
            lock.lock();
            try {
                while (!closed && queue.isEmpty()) {
                    submitted.awaitUninterruptibly();
                }
                if (closed) {
                    failAll(new SpeculaException("engine closed: no more forward passes"));
                    return;
                }
                long deadline = Math.max(queue.peekFirst().since, lastPassEnd) + gatherNanos();
                while (!closed && blocked < running.size() && waitingPositions() < maxPositions) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    submitted.awaitNanos(left);
                }
                pass = pick();
            } catch (InterruptedException e) {
                continue; // only close() interrupts, and it sets closed first
            } finally {
                lock.unlock();
            }
            if (!pass.isEmpty()) {
                run(pass);
            }
            lastPassEnd = System.nanoTime(); // read under the lock by this thread only
        }
    }

    /** How long a pass waits for running requests that have not asked yet (see the class comment). */
    private long gatherNanos() {
        return maxWaitNanos >= 0 ? maxWaitNanos : Math.max(MIN_GATHER_MICROS * 1000, lastPassNanos / 4);
    }

    private int waitingPositions() {
        int n = 0;
        for (Pending p : queue) {
            n += p.remaining();
        }
        return n;
    }

    /** The next pass: the smaller model's if one waits (see the class comment), else the oldest's; steps whole, oldest first, then prompt chunks. */
    private List<Pick> pick() {
        List<Pick> pass = new ArrayList<>();
        Pending head = queue.peekFirst();
        if (head == null) {
            return pass;
        }
        BatchedCausalLm model = head.model;
        Long headPass = passNanos.get(model);
        if (headPass == null || System.nanoTime() - head.since < PATIENCE_PASSES * headPass) {
            long least = work(model.config());
            for (Pending p : queue) {
                if (p.model != model && work(p.model.config()) < least) {
                    model = p.model;
                    least = work(model.config());
                }
            }
        }
        int budget = maxPositions;
        // The oldest, when it is a prompt (or a step wider than a pass), keeps a share of the pass whatever steps are waiting.
        boolean headIsStep = head.remaining() <= STEP_POSITIONS && head.remaining() <= maxPositions;
        int reserved = headIsStep || head.model != model ? 0 : Math.min(head.remaining(), Math.max(1, maxPositions / 4));
        List<Pending> chosen = new ArrayList<>();
        for (Pending p : queue) {
            if (p.model == model && p.remaining() <= STEP_POSITIONS && p.remaining() <= budget - reserved) {
                chosen.add(p);
                budget -= p.remaining();
            }
        }
        for (Pending p : queue) {
            if (p.model == model && !chosen.contains(p) && budget > 0) {
                chosen.add(p);
                budget -= Math.min(budget, p.remaining());
            }
        }
        budget = maxPositions;
        for (Pending p : chosen) {
            int take = Math.min(p.remaining(), budget);
            if (take == 0) {
                break;
            }
            budget -= take;
            int end = p.done + take;
            // The rows wanted are the call's last numLogits positions: a suffix of this chunk, or none of it.
            int wanted = Math.max(0, end - Math.max(p.done, p.tokens.length - p.numLogits));
            int[] tokens = p.done == 0 && take == p.tokens.length ? p.tokens
                    : Arrays.copyOfRange(p.tokens, p.done, end);
            pass.add(new Pick(p, take, new Segment(tokens, p.cache, wanted)));
        }
        return pass;
    }

    private void run(List<Pick> pass) {
        BatchedCausalLm model = pass.get(0).pending().model;
        List<Segment> segments = new ArrayList<>(pass.size());
        int positions = 0;
        for (Pick pick : pass) {
            segments.add(pick.segment());
            positions += pick.take();
        }
        long t0 = System.nanoTime();
        float[][][] results = null;
        Throwable failure = null;
        try {
            results = model.forward(segments);
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        long nanos = System.nanoTime() - t0;
        Throwable[] errors = new Throwable[pass.size()];
        if (failure != null) {
            // Nothing moved (the model checks every segment first): find out whose fault it was, one at a time.
            results = new float[pass.size()][][];
            for (int i = 0; i < pass.size(); i++) {
                if (pass.size() == 1) {
                    errors[i] = failure;
                    continue;
                }
                try {
                    results[i] = model.forward(List.of(segments.get(i)))[0];
                } catch (RuntimeException | Error e) {
                    errors[i] = e;
                }
            }
            if (pass.size() > 1) {
                log.debug("A shared pass of {} sequences failed ({}); ran them one at a time", pass.size(), failure.toString());
            }
        } else {
            // What the pass cost the batch: its time, and the round trip before it (the requests taking the last
            // pass's results and asking again, the gathering wait), bounded by the pass's own time so that an idle
            // engine's pause is not counted. A drafter pass over a batch costs more in round trips than in compute.
            long roundTrip = lastPassEnd == 0 ? 0 : Math.min(nanos, Math.max(0, t0 - lastPassEnd));
            statistics.record(pass.size(), positions, nanos, nanos + roundTrip, model, model == target);
        }
        lock.lock();
        try {
            lastPassNanos = nanos;
            passNanos.put(model, nanos);
            for (int i = 0; i < pass.size(); i++) {
                Pick pick = pass.get(i);
                Pending p = pick.pending();
                if (errors[i] != null) {
                    p.error = errors[i];
                    if (p.cache.length() > p.startLength) {
                        p.cache.truncate(p.startLength); // earlier chunks of this call are forgotten, as if never run
                    }
                    finish(p);
                    continue;
                }
                for (float[] row : results[i]) {
                    p.logits[p.rows++] = row;
                }
                p.done += pick.take();
                if (p.remaining() == 0) {
                    finish(p);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private void finish(Pending p) {
        p.finished = true;
        p.served.signal();
        queue.remove(p);
        if (p.counted) {
            blocked--;
        }
    }

    private void failAll(Throwable error) {
        for (Pending p : new ArrayList<>(queue)) {
            p.error = error;
            finish(p);
        }
    }

    void opened() {
        lock.lock();
        try {
            running.merge(Thread.currentThread(), 1, Integer::sum);
        } finally {
            lock.unlock();
        }
    }

    void closed(Thread owner) {
        lock.lock();
        try {
            running.computeIfPresent(owner, (t, n) -> n == 1 ? null : n - 1);
            submitted.signal(); // one fewer to wait for
        } finally {
            lock.unlock();
        }
    }

    /** Running requests now (threads with an open cache of a shared model). */
    public int runningRequests() {
        lock.lock();
        try {
            return running.size();
        } finally {
            lock.unlock();
        }
    }

    /** Fails what waits and stops the scheduler thread; a shared model's forward fails from then on. */
    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            submitted.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
