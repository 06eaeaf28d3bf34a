package io.specula.tokenizer;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.tree.Node;

import java.util.function.BiConsumer;

/**
 * Called by Jinjava before it renders each template node: counts nodes and watches the clock, so nested loops or
 * any other way of spending time without producing output stop at a limit instead of hanging the service. Between
 * two nodes Jinjava does bounded work (at most one loop over a range or list within the size limits), so checking
 * here bounds the overshoot. One guard per render.
 */
final class RenderGuard implements BiConsumer<Node, JinjavaInterpreter> {

    /** Aborts the render; Jinjava may wrap it, so the guard also remembers why it fired. */
    static final class LimitExceeded extends RuntimeException {
        // Thrown by range() too, so the message must stand on its own.
        LimitExceeded(String message) {
            super(message, null, false, false);
        }
    }

    private final long maxNodes;
    private final long timeoutMillis;
    private final long deadline;
    private long nodes;
    private volatile String exceeded;

    RenderGuard(long maxNodes, long timeoutMillis) {
        this.maxNodes = maxNodes;
        this.timeoutMillis = timeoutMillis;
        this.deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    }

    @Override
    public void accept(Node node, JinjavaInterpreter interpreter) {
        if (exceeded == null) {
            if (++nodes > maxNodes) {
                exceeded = "maximum number of rendered template nodes (" + maxNodes + ") exceeded";
            } else if (System.nanoTime() > deadline) {
                exceeded = "render timeout (" + timeoutMillis + " ms) exceeded";
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
