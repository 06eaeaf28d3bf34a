package io.specula.sample.chat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.specula.engine.ServingStatus;
import org.junit.jupiter.api.Test;

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
class QueueTimeoutTests extends SaturatedEngineTestBase {

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
