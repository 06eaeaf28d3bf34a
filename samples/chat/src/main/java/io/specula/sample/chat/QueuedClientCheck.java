package io.specula.sample.chat;

import java.io.IOException;

import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ValveBase;
import org.apache.coyote.ActionCode;
import org.jspecify.annotations.Nullable;

/**
 * Whether the client of a request that waits in the engine's queue is still there, found out by reading its
 * connection: nothing can be written yet without deciding the status (a queued request may still be refused with 503),
 * and a hang-up is only seen on a write or a read.
 *
 * <p>Why Tomcat's own call: the Servlet API cannot read past the end of the body. A blocking request whose body is
 * read gets -1 from its stream without touching the socket; a non-blocking one ({@code ReadListener}) is never
 * registered for reading once the body is finished (Tomcat 11.0.22 {@code InputBuffer#isReady} returns false when
 * {@code isFinished()}, and {@code ConnectionHandler#longPoll} registers read interest only for requests that are
 * not asynchronous). Tomcat's {@link ActionCode#AVAILABLE} with {@code true} is what its non-blocking
 * {@code isReady()} runs: when no byte of the request is buffered it makes one non-blocking read of the socket
 * ({@code Http11InputBuffer#available(boolean)}). A client that closed its end (EOF) or reset the connection makes
 * that read fail, and Tomcat then reports exactly 1 byte available ("which should trigger a read which in turn will
 * trigger another IOException"); an open, idle connection reports 0. Bytes a client sends after its request (HTTP/1.1
 * pipelining, which browsers, curl, Java's and Python's clients do not do) are reported as their count and kept for
 * Tomcat; so a hang-up is 1 byte twice in a row, and a client that pipelined more is left alone. nginx treats a
 * read-side EOF the same way while it waits for an upstream (its 499). A client that half-closes after its request
 * counts as gone, as it does for Tomcat itself on a keep-alive connection.
 *
 * <p>When it is not used: other servlet containers, HTTP/2, and a body not read to its end (the probe must not
 * consume body bytes). Those requests are checked once they are admitted, as before ({@link ClientConnection}).
 *
 * <p>Threads: a blocking {@code /api/chat} probes on its own request thread; a stream probes from a timer while Tomcat
 * does nothing with its connection (an asynchronous request's connection is not read by Tomcat until it completes).
 * {@link #close()} waits for a probe under way and stops later ones, so no probe overlaps the answer or the end of the
 * request; the stream closes it before its first event or its end reaches Spring.
 */
final class QueuedClientCheck {

    /** The request attribute under which {@link Capture} leaves Tomcat's request. */
    static final String ATTRIBUTE = QueuedClientCheck.class.getName();

    private final org.apache.coyote.Request request;

    /** Consecutive probes that found exactly one byte (a failed read, or one pipelined byte). */
    private int failedReads;

    private boolean closed;

    private QueuedClientCheck(org.apache.coyote.Request request) {
        this.request = request;
    }

    /**
     * The check for this request, or null when it cannot be checked this way (not Tomcat's HTTP/1.1, or a body not
     * read to its end). Reads what is left of a body that is already buffered (JSON whitespace after the object).
     */
    static @Nullable QueuedClientCheck of(HttpServletRequest servletRequest) {
        if (!(servletRequest.getAttribute(ATTRIBUTE) instanceof org.apache.coyote.Request request)
                || !servletRequest.getProtocol().startsWith("HTTP/1.")) {
            return null;
        }
        try {
            ServletInputStream body = servletRequest.getInputStream();
            byte[] rest = new byte[256];
            // Only bytes already here: available() does not read the socket on a blocking request.
            while (!body.isFinished() && body.available() > 0 && body.read(rest) >= 0) {
                // the parser stopped at the end of the JSON value; what follows is whitespace
            }
            return body.isFinished() ? new QueuedClientCheck(request) : null;
        }
        catch (IOException | IllegalStateException ex) {
            return null;
        }
    }

    /** Whether the client hung up: true once two probes in a row found the connection closed or reset. */
    synchronized boolean clientGone() {
        if (this.closed) {
            return false;
        }
        this.request.action(ActionCode.AVAILABLE, Boolean.TRUE);
        this.failedReads = this.request.getAvailable() == 1 ? this.failedReads + 1 : 0;
        return this.failedReads >= 2;
    }

    /** No more probes (the answer starts, or the request ends); waits for one under way. */
    synchronized void close() {
        this.closed = true;
    }

    /**
     * Leaves Tomcat's request in {@link #ATTRIBUTE} of the API's requests; added to the web application's pipeline by
     * {@link ChatSampleApplication} when the server is Tomcat.
     */
    static final class Capture extends ValveBase {

        Capture() {
            super(true);
        }

        @Override
        public void invoke(Request request, Response response) throws IOException, ServletException {
            if (request.getRequestURI().startsWith("/api/chat")) {
                request.setAttribute(ATTRIBUTE, request.getCoyoteRequest());
            }
            getNext().invoke(request, response);
        }
    }
}
