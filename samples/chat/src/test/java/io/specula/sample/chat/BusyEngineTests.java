package io.specula.sample.chat;

import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.specula.SpeculaException;
import io.specula.EngineBusyException;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;

import org.springframework.http.ResponseEntity;
import org.springframework.test.context.TestPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A saturated engine over the real tiny models: one request in flight, no queue. A first request holds the only
 * slot (a decoding listener parks its decoding thread after its first step); every other request, on {@code /api/chat}
 * and on {@code /api/chat/stream}, is refused with 503, a {@code Retry-After} derived from the queue timeout (2.5 s,
 * rounded up to 3) and a JSON {@code busy} error. Once the slot frees, the first request completes and the next one is
 * served again.
 */
@TestPropertySource(properties = { "spring.ai.specula.max-concurrent-requests=1",
        "spring.ai.specula.max-queued-requests=0", "spring.ai.specula.queue-timeout=2500ms",
        "specula.sample.benchmark.enabled=false" })
class BusyEngineTests extends SaturatedEngineTestBase {

    @Test
    void aSaturatedEngineAnswers503WithRetryAfterOnBothEndpoints() throws Exception {
        CompletableFuture<HttpResponse<String>> first = this.http.sendAsync(post("/api/chat", "application/json"),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (this.engine.servingStatus().inFlight() < 1 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(this.engine.servingStatus().inFlight()).isEqualTo(1);

        for (String[] endpoint : new String[][] { { "/api/chat", "application/json" },
                { "/api/chat/stream", "text/event-stream" } }) {
            HttpResponse<String> refused = this.http.send(post(endpoint[0], endpoint[1]),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            assertThat(refused.statusCode()).as(endpoint[0] + ": " + refused.body()).isEqualTo(503);
            assertThat(refused.headers().firstValue("Retry-After")).as(endpoint[0]).hasValue("3");
            assertThat(refused.headers().firstValue("Content-Type")).hasValueSatisfying(
                    type -> assertThat(type).startsWith("application/problem+json"));
            JsonNode error = this.json.readTree(refused.body());
            assertThat(error.get("status").asInt()).isEqualTo(503);
            assertThat(error.get("error").asString()).isEqualTo("busy");
            assertThat(error.get("detail").asString()).contains("engine busy")
                .contains("max-concurrent-requests=1")
                .contains("retry in 3 s");
        }
        assertThat(this.engine.servingStatus().rejectedQueueFull()).isGreaterThanOrEqualTo(2);

        this.hold.countDown();
        HttpResponse<String> served = first.get(60, TimeUnit.SECONDS);
        assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
        assertThat(this.json.readTree(served.body()).get("text").asString()).isNotEmpty();
        HttpResponse<String> next = this.http.send(post("/api/chat/stream", "text/event-stream"),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        assertThat(next.statusCode()).isEqualTo(200);
        assertThat(ChatApiTests.events(next.body())).extracting(ChatApiTests.Event::name).endsWith("done");
    }

    @Test
    void retryAfterComesFromTheQueueTimeoutWithinBounds() {
        assertThat(ApiExceptionHandler.retryAfterSeconds(null, Duration.ofMillis(2500))).isEqualTo(3);
        assertThat(ApiExceptionHandler.retryAfterSeconds(null, Duration.ZERO)).isEqualTo(1);
        assertThat(ApiExceptionHandler.retryAfterSeconds(null, Duration.ofMinutes(5))).isEqualTo(60);
        assertThat(ApiExceptionHandler.retryAfterSeconds(Duration.ofSeconds(90), Duration.ofSeconds(30)))
            .isEqualTo(90);
    }

    @Test
    void busyAsTheCauseOfAnotherExceptionIsStill503() {
        EngineBusyException busy = new EngineBusyException(EngineBusyException.Reason.QUEUE_TIMEOUT,
                "engine busy: the request waited 2500 ms for a slot");
        ResponseEntity<org.springframework.http.ProblemDetail> wrapped = this.handler.engineError(new IllegalStateException("wrapped", busy));
        assertThat(wrapped.getStatusCode().value()).isEqualTo(503);
        assertThat(wrapped.getHeaders().getFirst("Retry-After")).isEqualTo("3");
        assertThat(wrapped.getBody().getProperties().get("error")).isEqualTo("busy");
        assertThat(this.handler.engineError(new SpeculaException("prompt: too long")).getStatusCode().value())
            .isEqualTo(500);
    }
}
