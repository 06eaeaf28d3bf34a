package io.specula.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.function.BiConsumer;

/**
 * Called by Jinjava before it renders each template node: counts nodes and watches the clock, so nested loops or
 * any other way of spending time without producing output stop at a limit instead of hanging the service. Between
 * two nodes Jinjava does bounded work (at most one loop over a range or list within the size limits), so checking
 * here bounds the overshoot. One guard per render, used by the rendering thread only.
 *
 * <p>The clock is the rendering thread's CPU time where the JVM measures it (HotSpot on Linux does), wall time
 * otherwise: a hostile template burns CPU, while a render that merely waits for a busy machine's cores, or loads
 * Jinjava's classes for the first time, should not fail (seen: 2.1 s of wall time for a first render on a 2-core
 * machine running two builds beside it).
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
    /**
     * Reading a thread's CPU time is a system call (about a microsecond), so look every few nodes: a node between two
     * looks does bounded work, so this adds little overshoot.
     */
    private static final int CLOCK_EVERY = 8;

    private final long maxNodes;
    private final long timeoutMillis;
    private final long deadline;
    private long nodes;
    private volatile String exceeded;

    RenderGuard(long maxNodes, long timeoutMillis) {
        this.maxNodes = maxNodes;
        this.timeoutMillis = timeoutMillis;
        this.deadline = now() + timeoutMillis * 1_000_000L;
    }

    private static long now() {
        return CPU_TIME ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }

    @Override
    public void accept(Node node, JinjavaInterpreter interpreter) {
        if (exceeded == null) {
            if (++nodes > maxNodes) {
                exceeded = "maximum number of rendered template nodes (" + maxNodes + ") exceeded";
            } else if (nodes % CLOCK_EVERY == 0 && now() > deadline) {
                exceeded = "render timeout (" + timeoutMillis + " ms of " + (CPU_TIME ? "CPU" : "wall") + " time) exceeded";
            }
        }
        if (exceeded != null) {
            throw new LimitExceeded(exceeded);
        }
    }

    String exceeded() {
        return exceeded;
    }
}
