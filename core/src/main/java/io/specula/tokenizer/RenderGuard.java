package io.specula.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.BiConsumer;

/**
 * The budget of one chat-template render: template nodes rendered, CPU time, bytes allocated, and the size of every
 * string, list and nesting level the template builds. Jinjava calls it before it renders each node; the template's
 * filters ({@link GuardedFilter}) and Python methods ({@link PyMethods}, {@link PyJson}) call it too, before they
 * build a result whose size they can compute, and after each call. So nested loops, memory bombs and runaway
 * recursion stop at a limit instead of hanging the service or exhausting its heap: between two checks a template can
 * do only bounded work (one node or one filter call, on values within the size limits). One guard per render, used
 * by the rendering thread only, reachable from static template functions as {@link #current()}.
 *
 * <p>The clock is the rendering thread's CPU time where the JVM measures it (HotSpot on Linux does), wall time
 * otherwise: a hostile template burns CPU, while a render that merely waits for a busy machine's cores, or loads
 * Jinjava's classes for the first time, should not fail (seen: 2.1 s of wall time for a first render on a 2-core
 * machine running two builds beside it).
 *
 * <p>Memory is bounded by what the rendering thread allocates (HotSpot's per-thread allocation counter): an upper
 * bound of what the render can hold on to, however it does it (a list of copies of a large string, a filter applied to
 * every element of a list). Where the JVM has no such counter only the size limits apply.
 */
final class RenderGuard implements BiConsumer<Node, JinjavaInterpreter> {

    /** Aborts the render; Jinjava may wrap it, so the guard also remembers why it fired. */
    static final class LimitExceeded extends RuntimeException {
        // Thrown by range() too, so the message must stand on its own.
        LimitExceeded(String message) {
            super(message, null, false, false);
        }
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static final boolean CPU_TIME = THREADS.isCurrentThreadCpuTimeSupported() && THREADS.isThreadCpuTimeEnabled();
    private static final com.sun.management.ThreadMXBean ALLOCATION = allocationCounter();
    /**
     * Reading a thread's CPU time is a system call (about a microsecond), so look every few checks: a check between
     * two looks does bounded work, so this adds little overshoot. The allocation counter is read from the thread's own
     * memory (nanoseconds) and is looked at on every check.
     */
    private static final int CLOCK_EVERY = 8;
    private static final ThreadLocal<RenderGuard> CURRENT = new ThreadLocal<>();

    private final long maxNodes;
    private final long timeoutMillis;
    private final long deadline;
    private final long maxAllocatedBytes;
    private final long allocationStart;
    private final long maxStringLength;
    private final long maxCollectionSize;
    private final int maxNesting;
    private long nodes;
    private long checks;
    private volatile String exceeded;

    /**
     * @param maxAllocatedBytes bytes the rendering thread may allocate during the render
     * @param maxStringLength   longest string (and so output) the template may build, in chars
     * @param maxCollectionSize largest list or map the template may build
     * @param maxNesting        deepest nesting of data the template may serialise
     */
    RenderGuard(long maxNodes, long timeoutMillis, long maxAllocatedBytes, long maxStringLength,
                long maxCollectionSize, int maxNesting) {
        this.maxNodes = maxNodes;
        this.timeoutMillis = timeoutMillis;
        this.maxAllocatedBytes = maxAllocatedBytes;
        this.maxStringLength = maxStringLength;
        this.maxCollectionSize = maxCollectionSize;
        this.maxNesting = maxNesting;
        this.deadline = now() + timeoutMillis * 1_000_000L;
        this.allocationStart = allocated();
    }

    private static com.sun.management.ThreadMXBean allocationCounter() {
        try {
            if (THREADS instanceof com.sun.management.ThreadMXBean sun && sun.isThreadAllocatedMemorySupported()
                    && sun.isThreadAllocatedMemoryEnabled()) {
                sun.getCurrentThreadAllocatedBytes();
                return sun;
            }
        } catch (RuntimeException | LinkageError e) {
            // Not HotSpot, or a JVM without the counter: the size limits still apply.
        }
        return null;
    }

    /** Whether this JVM lets the guard bound what a render allocates. */
    static boolean measuresAllocation() {
        return ALLOCATION != null;
    }

    private static long now() {
        return CPU_TIME ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    private static long allocated() {
        return ALLOCATION == null ? 0 : ALLOCATION.getCurrentThreadAllocatedBytes();
    }

    /** Makes this the rendering thread's current guard; returns the one to {@link #restore} afterwards. */
    RenderGuard install() {
        RenderGuard previous = CURRENT.get();
        CURRENT.set(this);
        return previous;
    }

    static void restore(RenderGuard previous) {
        if (previous == null) {
            CURRENT.remove();
        } else {
            CURRENT.set(previous);
        }
    }

    /** The guard of the render running on this thread, or {@code null} outside a render. */
    static RenderGuard current() {
        return CURRENT.get();
    }

    @Override
    public void accept(Node node, JinjavaInterpreter interpreter) {
        if (exceeded == null && ++nodes > maxNodes) {
            fail("maximum number of rendered template nodes (" + maxNodes + ") exceeded");
        }
        checkpoint();
    }

    /** Stops the render if it has used up its time or memory (or already failed). */
    void checkpoint() {
        if (exceeded == null) {
            if (ALLOCATION != null && allocated() - allocationStart > maxAllocatedBytes) {
                fail("render memory limit (" + maxAllocatedBytes + " bytes allocated by one render) exceeded");
            } else if (++checks % CLOCK_EVERY == 0 && now() > deadline) {
                fail("render timeout (" + timeoutMillis + " ms of " + (CPU_TIME ? "CPU" : "wall") + " time) exceeded");
            }
        }
        if (exceeded != null) {
            throw new LimitExceeded(exceeded);
        }
    }

    /** Refuses a string of {@code chars} characters before it is built ({@code what} names the operation). */
    void checkLength(long chars, String what) {
        if (chars > maxStringLength) {
            fail("maximum string length (" + maxStringLength + " chars) exceeded: " + what + " would make "
                    + chars + " chars");
        }
    }

    /** Refuses a list or map of {@code elements} entries. */
    void checkSize(long elements, String what) {
        if (elements > maxCollectionSize) {
            fail("maximum list size (" + maxCollectionSize + " elements) exceeded: " + what + " would make "
                    + elements + " elements");
        }
    }

    /** Refuses data nested {@code depth} levels deep. */
    void checkDepth(int depth, String what) {
        if (depth > maxNesting) {
            fail("maximum nesting depth (" + maxNesting + ") exceeded: " + what);
        }
    }

    long maxStringLength() {
        return maxStringLength;
    }

    private void fail(String why) {
        if (exceeded == null) {
            exceeded = why;
        }
        throw new LimitExceeded(exceeded);
    }

    String exceeded() {
        return exceeded;
    }
}
