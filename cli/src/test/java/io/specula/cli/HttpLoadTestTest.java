package io.specula.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code specula loadtest --url} against a stand-in for the sample application on loopback (the JDK's HTTP server, no
 * models): it answers the reference from {@code /api/chat}, streams the same text as token events from
 * {@code /api/chat/stream}, and refuses every third stream with 503 and Retry-After. The real run against the sample is
 * in docs/operations.md.
 */
class HttpLoadTestTest {

    HttpServer server;

    final AtomicInteger streams = new AtomicInteger();

    /** What the stand-in streams instead of the right answer, when set. */
    volatile String wrongAnswer;

    @AfterEach
    void stop() {
        if (server != null) {
            server.stop(0);
        }
    }

    static String answer(String prompt) {
        return "Answer to " + prompt.length() + ": lorem ipsum dolor sit amet.";
    }

    String start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newCachedThreadPool());
        server.createContext("/api/chat", exchange -> {
            JsonObject request = JsonParser.parseString(new String(exchange.getRequestBody().readAllBytes(),
                    StandardCharsets.UTF_8)).getAsJsonObject();
            String prompt = request.get("prompt").getAsString();
            JsonObject options = request.getAsJsonObject("options");
            assertThat(options.get("temperature").getAsDouble()).isZero();
            assertThat(options.has("seed")).isTrue();
            if (exchange.getRequestURI().getPath().endsWith("/stream")) {
                stream(exchange, wrongAnswer != null ? wrongAnswer : answer(prompt));
                return;
            }
            assertThat(options.get("speculative").getAsBoolean()).isFalse();
            JsonObject body = new JsonObject();
            body.addProperty("text", answer(prompt));
            send(exchange, 200, "application/json", body.toString());
        });
        server.createContext("/api/stats", exchange -> send(exchange, 200, "application/json",
                "{\"process\": {\"pid\": 4242, \"rssBytes\": 104857600}}"));
        server.createContext("/actuator/specula", exchange -> send(exchange, 200, "application/json",
                "{\"models\": {\"target\": \"t\", \"drafter\": \"d\", \"kernel\": \"vector\"}, \"serving\": "
                        + "{\"requestsInFlight\": 0, \"maxConcurrentRequests\": 1, \"maxQueuedRequests\": 0}, "
                        + "\"cumulative\": {\"generatedTokens\": 0, \"requests\": 0}}"));
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    void stream(HttpExchange exchange, String text) throws IOException {
        if (streams.incrementAndGet() % 3 == 0) {
            exchange.getResponseHeaders().add("Retry-After", "2");
            send(exchange, 503, "application/json", "{\"error\": \"busy\", \"message\": \"engine busy\"}");
            return;
        }
        exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        try (OutputStream out = exchange.getResponseBody()) {
            String[] words = text.split("(?<= )");
            for (String word : words) {
                JsonObject delta = new JsonObject();
                delta.addProperty("text", word);
                out.write(("event:token\ndata:" + delta + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
            out.write(("event:done\ndata:{\"finishReason\":\"STOP\",\"usage\":{\"promptTokens\":3,"
                    + "\"completionTokens\":" + words.length + "}}\n\n").getBytes(StandardCharsets.UTF_8));
        } catch (IOException clientWentAway) {
            // a disconnecting client
        }
    }

    static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Test
    void streamsAreCheckedAgainstTheReferenceAndBusyIsItsOwnOutcome() throws IOException {
        String url = start();
        String[] r = LoadTestCommandTest.run(List.of("loadtest", "--url", url, "--clients", "2", "--seconds", "1",
                "--disconnect-fraction", "0.3", "--busy-backoff-ms", "5"));
        assertThat(r[0]).as(r[2] + r[1]).isEqualTo("0");
        assertThat(r[1]).contains("over HTTP (server pid 4242; target t, drafter d, vector kernel")
            .containsPattern("requests: (\\d+) sent, [1-9]\\d* completed, \\d+ disconnected by the client, "
                    + "[1-9]\\d* refused busy \\(503\\), 0 errors, 0 lost")
            .contains("busy (Retry-After 2 s):")
            .containsPattern("correctness: (\\d+) of \\1 completed answers equal the target-only answer")
            .contains("server RSS: 100 MiB at start");
    }

    @Test
    void aWrongAnswerFailsTheRun() throws IOException {
        String url = start();
        wrongAnswer = "something else entirely";
        String[] r = LoadTestCommandTest.run(List.of("loadtest", "--url", url, "--clients", "1", "--seconds", "1",
                "--disconnect-fraction", "0", "--busy-backoff-ms", "5"));
        assertThat(r[0]).as(r[2] + r[1]).isEqualTo("2");
        assertThat(r[1]).containsPattern("correctness: 0 of [1-9]\\d* completed answers");
    }

    @Test
    void anUnreachableServerIsAClearError() {
        String[] r = LoadTestCommandTest.run(List.of("loadtest", "--url", "http://127.0.0.1:1", "--seconds", "1"));
        assertThat(r[0]).isNotEqualTo("0");
        assertThat(r[2]).contains("cannot reach http://127.0.0.1:1/api/chat");
    }
}
