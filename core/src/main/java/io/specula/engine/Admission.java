package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.EngineBusyException;

import java.util.ArrayDeque;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * Admission control: a bounded first-come-first-served queue in front of a fixed number of decoding slots and a KV
 * cache memory budget. Requests decode on their callers' threads; this only decides when they may start.
 *
 * <p>Why threads and not a step scheduler: every sequence has its own KV cache and the forward pass is per sequence
 * (the matrix kernel parallelises one pass over its own pool), so interleaving decoding steps of several sequences
 * on one thread would do the same work in the same order as N threads, with a scheduler's state to get right on top.
 * Bounding the threads that decode at once gives the same protection: a fixed number of sequences in flight, a fixed
 * amount of memory, and a refusal instead of a pile-up. (Batching several sequences into one pass would need a batched
 * kernel; that is when a step scheduler pays.)
 */
final class Admission {

    /** How often a queued request checks whether its caller went away. */
    private static final long CANCEL_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final ServingLimits limits;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<Ticket> waiting = new ArrayDeque<>();
    private final Set<Ticket> running = ConcurrentHashMap.newKeySet();
    private int inFlight;
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

    /** A slot held by one request; {@link #progress()} is its heartbeat. */
    static final class Ticket implements AutoCloseable {
        private final Admission owner;
        private final long bytes;
        private volatile long lastProgress;
        private boolean admitted;
        private boolean released;

        private Ticket(Admission owner, long bytes) {
            this.owner = owner;
            this.bytes = bytes;
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
     * Waits for a slot with room for {@code bytes} of KV cache. Returns {@code null} when the caller cancelled (or was
     * interrupted) while waiting; the request then did no work.
     *
     * @throws EngineBusyException when the queue is full or the wait timed out
     * @throws SpeculaException    when the request alone needs more KV cache than the budget, or the engine is closed
     */
    Ticket acquire(long bytes, BooleanSupplier cancelled) {
        long budget = limits.kvCacheBudgetBytes();
        if (budget > 0 && bytes > budget) {
            rejectedKvCacheBudget.increment();
            throw new SpeculaException("kvCacheBudget: the request's KV cache needs " + mib(bytes)
                    + " (prompt + max tokens), more than the whole budget of " + mib(budget)
                    + " (kv-cache-budget); lower max tokens or shorten the prompt");
        }
        Ticket ticket = new Ticket(this, bytes);
        lock.lock();
        try {
            checkOpen();
            if (waiting.isEmpty() && fits(ticket)) {
                admit(ticket);
                return ticket;
            }
            if (waiting.size() >= limits.maxQueuedRequests()) {
                rejectedQueueFull.increment();
                throw queueFull();
            }
            waiting.addLast(ticket);
            long deadline = System.nanoTime() + limits.queueTimeout().toNanos();
            try {
                while (true) {
                    // A slot is handed to the head of the queue by whoever frees it (see drain).
                    if (ticket.admitted) {
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
                        throw new EngineBusyException(EngineBusyException.Reason.QUEUE_TIMEOUT, "engine busy: the "
                                + "request waited " + limits.queueTimeout().toMillis() + " ms for a slot (queue-timeout) "
                                + "behind " + inFlight + " requests in flight (max-concurrent-requests="
                                + limits.maxConcurrentRequests() + ")" + (limits.kvCacheBudgetBytes() > 0
                                ? " holding " + mib(bytesReserved) + " of the " + mib(limits.kvCacheBudgetBytes())
                                + " KV cache budget" : "") + "; retry later");
                    }
                    changed.awaitNanos(Math.min(left, CANCEL_POLL_NANOS));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (ticket.admitted) {
                    // Handed a slot just as the caller was interrupted: give it back.
                    release(ticket);
                }
                cancelledWhileQueued.increment();
                return null;
            } finally {
                if (!ticket.admitted) {
                    waiting.remove(ticket);
                    // The next in line may fit now that this one left the head of the queue.
                    drain();
                }
            }
        } finally {
            lock.unlock();
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
     * Refuses at once, as {@link #acquire} would, when the queue is full now: lets a caller skip costly preparation
     * (chat template, tokenizer) of a request that cannot get in. Racy by nature; {@link #acquire} decides.
     */
    void rejectIfFull() {
        lock.lock();
        try {
            checkOpen();
            boolean slotFree = waiting.isEmpty() && inFlight < limits.maxConcurrentRequests();
            if (!slotFree && waiting.size() >= limits.maxQueuedRequests()) {
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
                + waiting.size() + " waiting (max-queued-requests=" + limits.maxQueuedRequests() + "); retry later");
    }

    private boolean fits(Ticket ticket) {
        long budget = limits.kvCacheBudgetBytes();
        return inFlight < limits.maxConcurrentRequests() && (budget == 0 || bytesReserved + ticket.bytes <= budget);
    }

    private void admit(Ticket ticket) {
        ticket.admitted = true;
        ticket.progress();
        inFlight++;
        bytesReserved += ticket.bytes;
        running.add(ticket);
        admitted.increment();
    }

    private void release(Ticket ticket) {
        lock.lock();
        try {
            if (!ticket.admitted || ticket.released) {
                return;
            }
            ticket.released = true;
            inFlight--;
            bytesReserved -= ticket.bytes;
            running.remove(ticket);
            drain();
        } finally {
            lock.unlock();
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new SpeculaException("engine: closed; no more requests are served");
        }
    }

    boolean closed() {
        lock.lock();
        try {
            return closed;
        } finally {
            lock.unlock();
        }
    }

    /** Refuses new requests and wakes the queued ones, which fail. */
    void close() {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
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
