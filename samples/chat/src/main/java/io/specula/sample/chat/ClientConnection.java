package io.specula.sample.chat;

import java.io.IOException;
import java.time.Duration;

import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.MediaType;

/**
 * Whether the client of a non-streaming JSON response is still there, found out by writing to it.
 *
 * <p>Why writing: Tomcat does not interrupt a request's thread when its client disconnects, and it does not watch the
 * connection of a request in progress either. A blocking request is not read again once its body is read; an
 * asynchronous one (Servlet async, {@code DeferredResult}, a {@code Mono}) is not registered for reading with the
 * poller while it waits (Tomcat 11.0.22 {@code AbstractProtocol.ConnectionHandler#longPoll} registers read interest
 * only for requests that are not asynchronous), so {@code AsyncListener#onError} fires only when a write fails. A
 * failed write ({@code ClientAbortException}, an {@link IOException}) is the one signal the Servlet API gives.
 *
 * <p>So a probe writes one space and flushes: leading whitespace is insignificant in JSON, so the body still parses as
 * the answer that follows it. The first write after the client closed its end usually succeeds (the peer answers it
 * with a reset), the next one fails: a disconnect is seen at the second probe after it. So the first two probes go at
 * the first two text chunks (on loopback the reset is back by then, so a client that left while its request was
 * queued usually costs two chunks once the request is admitted, not an interval), the others at most once per
 * interval. The first probe commits the response as 200 with a JSON content type; the caller probes only once the
 * answer has started (the engine admitted the request and decodes), so refusals before that (400, 503) keep their
 * status. An error after that can only be reported in the body ({@code {"error": ...}} after the whitespace), as the
 * stream reports it in an {@code error} event once it has started.
 */
final class ClientConnection {

    private final HttpServletResponse response;

    private final long intervalNanos;

    private long lastProbe;

    private int probes;

    private boolean probed;

    /**
     * @param interval the least time between two probes (0: probe at every chance)
     */
    ClientConnection(HttpServletResponse response, Duration interval) {
        this.response = response;
        this.intervalNanos = interval.toNanos();
    }

    /** Whether a probe has been written (the response is committed as 200). */
    boolean probed() {
        return this.probed;
    }

    /**
     * Probes the connection if the interval has passed since the last probe (at once the first two times); returns
     * false when the client is gone.
     */
    boolean alive() {
        long now = System.nanoTime();
        if (this.probes >= 2 && now - this.lastProbe < this.intervalNanos) {
            return true;
        }
        this.lastProbe = now;
        this.probes++;
        try {
            if (!this.probed) {
                this.response.setStatus(HttpServletResponse.SC_OK);
                this.response.setContentType(MediaType.APPLICATION_JSON_VALUE);
                this.probed = true;
            }
            this.response.getOutputStream().write(' ');
            this.response.flushBuffer();
            return true;
        }
        catch (IOException ex) {
            return false;
        }
    }
}
