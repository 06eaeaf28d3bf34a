package io.specula.sample.chat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.specula.engine.ServingStatus;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.test.context.TestPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Clients that stay connected while queued keep their contract: the read-side checks of a queued request's connection
 * ({@link QueuedClientCheck}, every 20 ms here, some 75 checks per wait) never take a client that is there for one that
 * hung up, write nothing, and so a request that waits past the queue timeout is still refused with 503 and
 * {@code Retry-After} on both endpoints, counted as a queue timeout and not as cancelled.
 */
@TestPropertySource(properties = { "spring.ai.specula.max-concurrent-requests=1",
        "spring.ai.specula.max-queued-requests=4", "spring.ai.specula.queue-timeout=1500ms",
        "specula.sample.disconnect-check-interval=0", "specula.sample.benchmark.enabled=false" })
class QueueTimeoutTests extends SampleApplicationTestBase {

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    final JsonMapper json = JsonMapper.builder().build();

    @Autowired
    SpeculaEngine engine;

    /** Parks the decoding thread of the request in flight while armed. */
    volatile CountDownLatch hold = new CountDownLatch(0);

    @BeforeEach
    void parkTheRequestInFlight() {
        this.hold = new CountDownLatch(1);
        this.engine.addDecodingListener(new DecodingListener() {
            @Override
            public void onStep(StepEvent step) {
                try {
                    QueueTimeoutTests.this.hold.await(60, TimeUnit.SECONDS);
                }
                catch (InterruptedException ex) {
                    Thread.currentThread().interrupt();
                }
            }
        });
    }

    @AfterEach
    void release() {
        this.hold.countDown();
    }

    HttpRequest post(String path, String accept) {
        return HttpRequest.newBuilder(URI.create(baseUrl() + path))
            .header("Content-Type", "application/json")
            .header("Accept", accept)
            .timeout(Duration.ofSeconds(120))
            .POST(HttpRequest.BodyPublishers.ofString(this.json.writeValueAsString(
                    Map.of("prompt", ChatApiTests.QUESTION, "options", Map.of("maxTokens", 8)))))
            .build();
    }

    @Test
    void connectedClientsQueuedPastTheTimeoutGet503WithRetryAfter() throws Exception {
        CompletableFuture<HttpResponse<String>> first = this.http.sendAsync(post("/api/chat", "application/json"),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (this.engine.servingStatus().inFlight() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        ServingStatus before = this.engine.servingStatus();
        assertThat(before.inFlight()).isEqualTo(1);

        List<CompletableFuture<HttpResponse<String>>> queued = List.of(
                this.http.sendAsync(post("/api/chat", "application/json"),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)),
                this.http.sendAsync(post("/api/chat/stream", "text/event-stream"),
                        HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)));
        for (CompletableFuture<HttpResponse<String>> response : queued) {
            HttpResponse<String> refused = response.get(60, TimeUnit.SECONDS);
            assertThat(refused.statusCode()).as(refused.uri() + ": " + refused.body()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).as(refused.uri().toString()).hasValue("2");
            assertThat(this.json.readTree(refused.body()).get("detail").asString()).contains("queue-timeout");
        }
        ServingStatus after = this.engine.servingStatus();
        assertThat(after.rejectedQueueTimeout()).as("%s", after).isEqualTo(before.rejectedQueueTimeout() + 2);
        assertThat(after.cancelledWhileQueued()).as("%s", after).isEqualTo(before.cancelledWhileQueued());

        this.hold.countDown();
        HttpResponse<String> served = first.get(60, TimeUnit.SECONDS);
        assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
    }
}
