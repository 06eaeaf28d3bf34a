package io.specula.sample.chat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingListener;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import tools.jackson.databind.json.JsonMapper;

import org.springframework.beans.factory.annotation.Autowired;

/**
 * The sample with its one slot taken: while {@link #hold} is armed (each test arms it), a decoding listener parks the
 * decoding thread of the request in flight after its first step, so the next requests queue or are refused. Requests
 * go through Java's HTTP client ({@link #post}: a short answer of 8 tokens).
 */
abstract class SaturatedEngineTestBase extends SampleApplicationTestBase {

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    final JsonMapper json = JsonMapper.builder().build();

    @Autowired
    SpeculaEngine engine;

    @Autowired
    ApiExceptionHandler handler;

    /** Parks the decoding thread of the request in flight while armed. */
    volatile CountDownLatch hold = new CountDownLatch(0);

    @BeforeEach
    void parkTheRequestInFlight() {
        this.hold = new CountDownLatch(1);
        this.engine.addDecodingListener(new DecodingListener() {
            @Override
            public void onStep(StepEvent step) {
                CountDownLatch latch = SaturatedEngineTestBase.this.hold;
                try {
                    latch.await(60, TimeUnit.SECONDS);
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
}
