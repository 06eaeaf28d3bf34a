package io.specula.kernel;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed set of daemon threads that split the output rows of one matrix product with the calling thread.
 *
 * <p>Why not an {@code ExecutorService}: a decoding step is ~50 products of 50–500 µs each, so what matters is the
 * cost of starting and joining one, and that it allocates nothing. Here a call publishes its task through a volatile
 * generation counter, workers spin briefly before parking (products come back to back within a forward pass), and
 * the rows are cut into a few contiguous blocks per thread that threads claim from a counter, so a thread slowed by
 * another process on a shared core simply takes fewer blocks.
 *
 * <p>One product at a time: a call that finds the pool busy (another thread is in the middle of its own product)
 * does all its rows itself rather than wait.
 */
final class RowPool {

    /** The work of one call: rows {@code [from, to)} of the result. */
    interface RowTask {
        void rows(int from, int to);
    }

    /** Blocks per thread: enough to even out a slow thread, few enough that each block streams a long run of rows. */
    private static final int BLOCKS_PER_THREAD = 4;
    /** How long an idle thread spins before parking; unparking costs tens of microseconds. */
    private static final long SPIN_NANOS = 50_000;

    private static final RowPool SHARED = new RowPool(Runtime.getRuntime().availableProcessors());

    private final Worker[] workers;
    private final ReentrantLock busy = new ReentrantLock();
    private final AtomicInteger nextBlock = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    private volatile int generation;
    private volatile Thread caller;
    private volatile Throwable failure;
    // The current call; written before the volatile generation bump that publishes it.
    private RowTask task;
    private int rows;
    private int blockRows;
    private int blocks;

    /** @param threads threads in all, the caller included */
    RowPool(int threads) {
        workers = new Worker[Math.max(0, threads - 1)];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker("specula-matmul-" + (i + 1));
            workers[i].start();
        }
    }

    static RowPool shared() {
        return SHARED;
    }

    int threads() {
        return workers.length + 1;
    }

    /**
     * Runs {@code task} over rows {@code [0, rows)} on all threads and returns when every row is done.
     *
     * @param align block boundaries fall on multiples of this (the kernel's row blocking)
     */
    void run(RowTask task, int rows, int align) {
        if (workers.length == 0 || rows <= align || !busy.tryLock()) {
            task.rows(0, rows);
            return;
        }
        try {
            int threads = workers.length + 1;
            int count = Math.min(threads * BLOCKS_PER_THREAD, (rows + align - 1) / align);
            int size = ((rows + count - 1) / count + align - 1) / align * align;
            this.task = task;
            this.rows = rows;
            this.blockRows = size;
            this.blocks = (rows + size - 1) / size;
            this.failure = null;
            this.caller = Thread.currentThread();
            nextBlock.set(0);
            running.set(workers.length);
            generation++; // publishes the fields above
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
            try {
                work();
            } catch (RuntimeException | Error e) {
                failure = e;
                nextBlock.set(Integer.MAX_VALUE / 2);
            }
            long start = System.nanoTime();
            int spins = 0;
            while (running.get() != 0) {
                if (++spins < 64 || System.nanoTime() - start < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this); // the last worker unparks us
                }
            }
            this.task = null;
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            } else if (t != null) {
                throw (Error) t;
            }
        } finally {
            busy.unlock();
        }
    }

    private void work() {
        RowTask t = task;
        int b;
        while ((b = nextBlock.getAndIncrement()) < blocks) {
            int from = b * blockRows;
            t.rows(from, Math.min(rows, from + blockRows));
        }
    }

    private final class Worker extends Thread {
        volatile boolean parked;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        @Override
        public void run() {
            int seen = 0;
            while (true) {
                long start = System.nanoTime();
                int spins = 0;
                int g;
                while ((g = generation) == seen) {
                    if (++spins < 64 || System.nanoTime() - start < SPIN_NANOS) {
                        Thread.onSpinWait();
                    } else {
                        // Dekker with the caller: it bumps generation then reads parked; we set parked then re-read.
                        parked = true;
                        if (generation == seen) {
                            LockSupport.park(this);
                        }
                        parked = false;
                    }
                }
                seen = g;
                try {
                    work();
                } catch (RuntimeException | Error e) {
                    failure = e;
                    nextBlock.set(Integer.MAX_VALUE / 2); // let the others stop early
                } finally {
                    if (running.decrementAndGet() == 0) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }
    }
}
