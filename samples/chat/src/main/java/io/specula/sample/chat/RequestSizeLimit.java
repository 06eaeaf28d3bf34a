package io.specula.sample.chat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Bounds the body of an API request ({@code specula.sample.max-request-size}): one that declares a larger
 * {@code Content-Length} is answered 413 before it is read; one sent without a length (chunked) fails as soon as it
 * has sent more, with a {@link TooLarge} that {@link ApiExceptionHandler} answers 413. So no request makes the
 * application parse (or echo back) more than the limit.
 */
@Component
class RequestSizeLimit extends OncePerRequestFilter {

    private final long maxBytes;

    RequestSizeLimit(SampleProperties properties) {
        this.maxBytes = properties.getMaxRequestSize().toBytes();
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        return !request.getRequestURI().startsWith("/api/");
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        long declared = request.getContentLengthLong();
        if (declared > this.maxBytes) {
            response.setStatus(HttpStatus.CONTENT_TOO_LARGE.value());
            response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
            response.setCharacterEncoding(StandardCharsets.UTF_8.name());
            // Fixed text: nothing of the request is echoed.
            // The same RFC 9457 problem as ApiExceptionHandler's for a chunked body past the limit.
            response.getWriter().write("{\"type\":\"" + ErrorBody.TYPE_PREFIX + "request_too_large\",\"title\":"
                    + "\"Request too large\",\"status\":413,\"detail\":\"" + message(declared)
                    + "\",\"error\":\"request_too_large\"}");
            return;
        }
        chain.doFilter(new Bounded(request, this.maxBytes), response);
    }

    String message(long size) {
        return "body: " + (size >= 0 ? size + " bytes" : "more bytes than allowed") + "; at most " + this.maxBytes
                + " bytes (specula.sample.max-request-size)";
    }

    /** A body read past the limit. */
    static final class TooLarge extends IOException {

        TooLarge(String message) {
            super(message);
        }
    }

    /** The request with a body that fails once it has given more than the limit. */
    private final class Bounded extends HttpServletRequestWrapper {

        private final long limit;

        private ServletInputStream stream;

        Bounded(HttpServletRequest request, long limit) {
            super(request);
            this.limit = limit;
        }

        @Override
        public ServletInputStream getInputStream() throws IOException {
            if (this.stream == null) {
                this.stream = new Counting(super.getInputStream(), this.limit);
            }
            return this.stream;
        }
    }

    private final class Counting extends ServletInputStream {

        private final ServletInputStream in;

        private final long limit;

        private long read;

        Counting(ServletInputStream in, long limit) {
            this.in = in;
            this.limit = limit;
        }

        private int count(int n) throws TooLarge {
            if (n > 0) {
                this.read += n;
                if (this.read > this.limit) {
                    throw new TooLarge(message(-1));
                }
            }
            return n;
        }

        @Override
        public int read() throws IOException {
            int b = this.in.read();
            count(b >= 0 ? 1 : 0);
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return count(this.in.read(b, off, len));
        }

        @Override
        public int available() throws IOException {
            return this.in.available();
        }

        @Override
        public boolean isFinished() {
            return this.in.isFinished();
        }

        @Override
        public boolean isReady() {
            return this.in.isReady();
        }

        @Override
        public void setReadListener(ReadListener listener) {
            this.in.setReadListener(listener);
        }
    }
}
