package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.EngineBusyException;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Admission control: a bounded first-come-first-served queue in front of a fixed number of decoding slots and a KV
 * cache memory budget. Requests decode on their callers' threads (or, submitted, on the caller's executor once
 * admitted); this only decides when they may start.
 *
 * <p>A request first takes a place ({@link #reserve()}): refused at once when the engine already holds as many
 * requests as it has slots and queue places. It keeps that place while its prompt is rendered and encoded, then, its
 * KV cache size known, waits for a slot: blocking on its thread ({@link #acquire(Ticket, long, BooleanSupplier)}), or
 * without a thread ({@link #ready}: a future completed when a slot is handed to it, failed at the queue timeout). A
 * queued request holds no thread, so a flood of streams is bounded by the queue, not by a thread pool.
 *
 * <p>Why threads and not a step scheduler: every sequence has its own KV cache and the forward pass is per sequence
 * (the matrix kernel parallelises one pass over its own pool), so interleaving decoding steps of several sequences
 * on one thread would do the same work in the same order as N threads, with a scheduler's state to get right on top.
 * Bounding the threads that decode at once gives the same protection: a fixed number of sequences in flight, a fixed
 * amount of memory, and a refusal instead of a pile-up. With continuous batching on, the admitted requests' passes are
 * shared by {@link BatchScheduler}; admission still decides which requests run.
 *
 * <p>Why over 400 lines: one lock guards the slots, the queue and the budget, and every way in or out (a place, a
 * blocking wait, a wait without a thread, its timeout, a withdrawal, a release, closing) must keep the same invariant
 * under it (a free slot and a waiting request never coexist). Split across classes, the invariant would be too.
 */
final class Admission {

    /** How often a queued blocking request checks whether its caller went away. */
    private static final long CANCEL_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final ServingLimits limits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Ticket> waiting = new ArrayDeque<>();
    private final Set<Ticket> running = ConcurrentHashMap.newKeySet();
    /** Waiters without a thread admitted under the lock; their futures are completed after it is released. */
    private final Queue<Ticket> granted = new ConcurrentLinkedQueue<>();
    private int inFlight;
    /** Requests that hold a place while their prompt is prepared (template, tokenizer). */
    private int preparing;
    private long bytesReserved;
    private boolean closed;

    private final LongAdder admitted = new LongAdder();
    private final LongAdder rejectedQueueFull = new LongAdder();
    private final LongAdder rejectedQueueTimeout = new LongAdder();
    private final LongAdder rejectedKvCacheBudget = new LongAdder();
    private final LongAdder cancelledWhileQueued = new LongAdder();

    Admission(ServingLimits limits) {
        this.limits = limits;
    }

    private enum State { PREPARING, WAITING, RUNNING, DONE }

    /** One request's place: preparing, waiting, then a slot; {@link #progress()} is its heartbeat. */
    static final class Ticket implements AutoCloseable {
        private final Admission owner;
        private long bytes;
        private volatile long lastProgress;
        private State state = State.PREPARING;
        /** Completed when a waiter without a thread gets its slot ({@link #ready}); null for blocking waiters. */
        private CompletableFuture<Ticket> slot;

        private Ticket(Admission owner) {
            this.owner = owner;
        }

        /** The request made progress (a decoding step): resets its stall clock. */
        void progress() {
            lastProgress = System.nanoTime();
        }

        @Override
        public void close() {
            owner.release(this);
        }
    }

    /**
     * Takes a place for a request about to be prepared; refused at once when every slot and queue place is taken
     * (counting the requests being prepared). The cheap check that lets a saturated engine refuse before it renders
     * and tokenizes a prompt; {@link #acquire(Ticket, long, BooleanSupplier)} or {@link #ready} decides.
     *
     * @throws EngineBusyException when the engine is full
     * @throws SpeculaException    when the engine is closed
     */
    Ticket reserve() {
        lock.lock();
        try {
            checkOpen();
            if (full()) {
                rejectedQueueFull.increment();
                throw queueFull();
            }
            preparing++;
            return new Ticket(this);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether no place is left: the requests being prepared take the free slots first, then queue places. (A prepared
     * request that cannot start at once is refused when the queue itself is full: see {@link #enter}.)
     */
    private boolean full() {
        long free = Math.max(0, (long) limits.maxConcurrentRequests() - inFlight);
        return (long) preparing + waiting.size() >= limits.maxQueuedRequests() + free;
    }

    /** Waits for a slot for a request that has not reserved a place (token-level callers). */
    Ticket acquire(long bytes, BooleanSupplier cancelled) {
        return acquire(reserve(), bytes, cancelled);
    }

    /**
     * Waits on this thread for a slot with room for {@code bytes} of KV cache. Returns {@code null} when the caller
     * cancelled (or was interrupted) while waiting; the request then did no work.
     *
     * @throws EngineBusyException when the queue is full or the wait timed out
     * @throws SpeculaException    when the request alone needs more KV cache than the budget, or the engine is closed
     */
    Ticket acquire(Ticket ticket, long bytes, BooleanSupplier cancelled) {
        List<Ticket> toComplete;
        lock.lock();
        try {
            enter(ticket, bytes);
            if (ticket.state == State.RUNNING) {
                return ticket;
            }
            long deadline = System.nanoTime() + limits.queueTimeout().toNanos();
            try {
                while (true) {
                    // A slot is handed to the head of the queue by whoever frees it (see drain).
                    if (ticket.state == State.RUNNING) {
                        return ticket;
                    }
                    checkOpen();
                    if (cancelled.getAsBoolean()) {
                        cancelledWhileQueued.increment();
                        return null;
                    }
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        rejectedQueueTimeout.increment();
                        throw queueTimeout();
                    }
                    changed.awaitNanos(Math.min(left, CANCEL_POLL_NANOS));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (ticket.state == State.RUNNING) {
                    // Handed a slot just as the caller was interrupted: give it back.
                    release(ticket);
                }
                cancelledWhileQueued.increment();
                return null;
            } finally {
                if (ticket.state == State.WAITING) {
                    waiting.remove(ticket);
                    ticket.state = State.DONE;
                    // The next in line may fit now that this one left the head of the queue.
                    drain();
                }
            }
        } finally {
            lock.unlock();
            completeGranted();
        }
    }

    /**
     * A prepared request whose caller does not wait on a thread: admitted at once if it can be, else queued. The
     * future completes with the ticket when a slot is handed to it (on the thread that freed the slot: hand the work
     * to an executor), and fails with an {@link EngineBusyException} at the queue timeout or when the queue is full,
     * or a {@link SpeculaException} when the KV cache is over the budget or the engine closes.
     */
    CompletableFuture<Ticket> ready(Ticket ticket, long bytes) {
        lock.lock();
        try {
            enter(ticket, bytes);
            if (ticket.state == State.RUNNING) {
                return CompletableFuture.completedFuture(ticket);
            }
            ticket.slot = new CompletableFuture<>();
            CompletableFuture.delayedExecutor(limits.queueTimeout().toNanos(), TimeUnit.NANOSECONDS)
                    .execute(() -> expire(ticket));
            return ticket.slot;
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        } finally {
            lock.unlock();
            completeGranted();
        }
    }

    /**
     * A prepared request leaves its place for a slot or the queue (under the lock): the budget, a closed engine and a
     * full queue refuse it (throwing); otherwise it is admitted at once (state RUNNING) or queued (WAITING).
     */
    private void enter(Ticket ticket, long bytes) {
        if (ticket.state != State.PREPARING) {
            throw new IllegalStateException("ticket already " + ticket.state);
        }
        preparing--;
        ticket.state = State.DONE;
        changed.signalAll();
        checkOpen();
        long budget = limits.kvCacheBudgetBytes();
        if (budget > 0 && bytes > budget) {
            rejectedKvCacheBudget.increment();
            throw new SpeculaException("kvCacheBudget: the request's KV cache needs " + mib(bytes)
                    + " (prompt + max tokens, and the prompt pass's working memory), more than the whole budget of "
                    + mib(budget) + " (kv-cache-budget); lower max tokens or shorten the prompt");
        }
        ticket.bytes = bytes;
        if (waiting.isEmpty() && fits(ticket)) {
            admit(ticket);
            return;
        }
        if (waiting.size() >= limits.maxQueuedRequests()) {
            rejectedQueueFull.increment();
            throw queueFull();
        }
        ticket.state = State.WAITING;
        waiting.addLast(ticket);
    }

    /** The queue timeout of a waiter without a thread. */
    private void expire(Ticket ticket) {
        boolean expired;
        EngineBusyException busy = null;
        lock.lock();
        try {
            expired = ticket.state == State.WAITING;
            if (expired) {
                waiting.remove(ticket);
                ticket.state = State.DONE;
                rejectedQueueTimeout.increment();
                busy = queueTimeout();
                drain();
            }
        } finally {
            lock.unlock();
            completeGranted();
        }
        if (expired) {
            ticket.slot.completeExceptionally(busy);
        }
    }

    /**
     * The request went away before it got a slot (its caller cancelled it, or its preparation failed): its place
     * (preparing or queued) is freed. Returns whether it held one; false when it is already running (its owner releases
     * it) or done.
     *
     * @param cancelled whether its caller cancelled it (counted in {@code cancelledWhileQueued})
     */
    boolean withdraw(Ticket ticket, boolean cancelled) {
        boolean withdrawn;
        boolean wasWaiting = false;
        lock.lock();
        try {
            switch (ticket.state) {
                case PREPARING -> {
                    preparing--;
                    withdrawn = true;
                }
                case WAITING -> {
                    waiting.remove(ticket);
                    wasWaiting = true;
                    withdrawn = true;
                }
                default -> withdrawn = false;
            }
            if (withdrawn) {
                ticket.state = State.DONE;
                if (cancelled) {
                    cancelledWhileQueued.increment();
                }
                drain();
            }
        } finally {
            lock.unlock();
            completeGranted();
        }
        if (wasWaiting && ticket.slot != null) {
            ticket.slot.cancel(false);
        }
        return withdrawn;
    }

    /** Completes, outside the lock, the futures of waiters without a thread that {@link #drain()} admitted. */
    private void completeGranted() {
        Ticket t;
        while ((t = granted.poll()) != null) {
            if (!t.slot.complete(t)) {
                // The waiter was cancelled as its slot came: give the slot back.
                release(t);
            }
        }
    }

    /**
     * Admits waiting requests from the head of the queue while they fit (under the lock). Slots go straight to the
     * waiters, so a free slot and a waiting request never coexist: a newcomer cannot overtake the queue, and "queue
     * full" always means every slot (or the budget) is taken.
     */
    private void drain() {
        Ticket head;
        while ((head = waiting.peekFirst()) != null && fits(head)) {
            waiting.removeFirst();
            admit(head);
        }
        changed.signalAll();
    }

    /**
     * Refuses at once, as {@link #reserve} would, when the engine is full now, without taking a place. Racy by
     * nature; {@link #reserve} and {@link #acquire} decide.
     */
    void rejectIfFull() {
        lock.lock();
        try {
            checkOpen();
            if (full()) {
                rejectedQueueFull.increment();
                throw queueFull();
            }
        } finally {
            lock.unlock();
        }
    }

    private EngineBusyException queueFull() {
        return new EngineBusyException(EngineBusyException.Reason.QUEUE_FULL, "engine busy: " + inFlight
                + " requests in flight (max-concurrent-requests=" + limits.maxConcurrentRequests() + ") and "
                + (waiting.size() + preparing) + " waiting (max-queued-requests=" + limits.maxQueuedRequests()
                + "); retry later");
    }

    private EngineBusyException queueTimeout() {
        return new EngineBusyException(EngineBusyException.Reason.QUEUE_TIMEOUT, "engine busy: the "
                + "request waited " + limits.queueTimeout().toMillis() + " ms for a slot (queue-timeout) "
                + "behind " + inFlight + " requests in flight (max-concurrent-requests="
                + limits.maxConcurrentRequests() + ")" + (limits.kvCacheBudgetBytes() > 0
                ? " holding " + mib(bytesReserved) + " of the " + mib(limits.kvCacheBudgetBytes())
                + " KV cache budget" : "") + "; retry later");
    }

    private boolean fits(Ticket ticket) {
        long budget = limits.kvCacheBudgetBytes();
        return inFlight < limits.maxConcurrentRequests() && (budget == 0 || bytesReserved + ticket.bytes <= budget);
    }

    private void admit(Ticket ticket) {
        ticket.state = State.RUNNING;
        ticket.progress();
        inFlight++;
        bytesReserved += ticket.bytes;
        running.add(ticket);
        admitted.increment();
        if (ticket.slot != null) {
            granted.add(ticket);
        }
    }

    private void release(Ticket ticket) {
        lock.lock();
        try {
            if (ticket.state != State.RUNNING) {
                return;
            }
            ticket.state = State.DONE;
            inFlight--;
            bytesReserved -= ticket.bytes;
            running.remove(ticket);
            drain();
        } finally {
            lock.unlock();
            completeGranted();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw closedError();
        }
    }

    private static SpeculaException closedError() {
        return new SpeculaException("engine: closed; no more requests are served");
    }

    /**
     * Refuses new requests and ends the queued ones: waiters without a thread fail at once, blocking waiters wake and
     * fail. Requests in flight go on; {@link #awaitIdle} waits for them.
     */
    void close() {
        List<Ticket> dropped = new ArrayList<>();
        lock.lock();
        try {
            closed = true;
            waiting.removeIf(t -> {
                if (t.slot == null) {
                    return false;
                }
                t.state = State.DONE;
                dropped.add(t);
                return true;
            });
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        for (Ticket t : dropped) {
            t.slot.completeExceptionally(closedError());
        }
    }

    /**
     * Waits until no request is in flight or being prepared (after {@link #close()}, nothing new arrives), at most
     * {@code timeout}; returns whether the engine is idle.
     */
    boolean awaitIdle(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (inFlight > 0 || preparing > 0) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return inFlight == 0 && preparing == 0;
        } finally {
            lock.unlock();
        }
    }

    ServingStatus status() {
        long now = System.nanoTime();
        long stall = 0;
        for (Ticket t : running) {
            stall = Math.max(stall, now - t.lastProgress);
        }
        lock.lock();
        try {
            return new ServingStatus(inFlight, waiting.size(), limits.maxConcurrentRequests(),
                    limits.maxQueuedRequests(), bytesReserved, limits.kvCacheBudgetBytes(), stall, admitted.sum(),
                    rejectedQueueFull.sum(), rejectedQueueTimeout.sum(), rejectedKvCacheBudget.sum(),
                    cancelledWhileQueued.sum(), closed);
        } finally {
            lock.unlock();
        }
    }

    private static String mib(long bytes) {
        return bytes >= 1 << 20 ? String.format(java.util.Locale.ROOT, "%.1f MiB", bytes / 1048576.0)
                : bytes + " bytes";
    }
}
