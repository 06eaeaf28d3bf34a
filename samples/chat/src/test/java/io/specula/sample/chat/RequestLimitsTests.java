package io.specula.sample.chat;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import org.junit.jupiter.api.Test;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile bodies (issue 19, item 4): a body over {@code specula.sample.max-request-size} (64 KB by default) is refused
 * with 413 before it is parsed, whether it declares its length or not; unknown fields are named without echoing the
 * input, in an error body of bounded size; stop sequences are bounded in number and length by the engine's rule.
 * (Same application context as {@link ChatApiTests}.)
 */
class RequestLimitsTests extends SampleApplicationTestBase {

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    final JsonMapper json = JsonMapper.builder().build();

    HttpResponse<String> post(String path, HttpRequest.BodyPublisher body) throws Exception {
        return this.http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
            .header("Content-Type", "application/json")
            .header("Accept", path.endsWith("/stream") ? "text/event-stream" : "application/json")
            .timeout(Duration.ofSeconds(120))
            .POST(body)
            .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** A body of unknown fields (the issue sent 4 MB of them: 1 MB is as far over the limit, and quicker). */
    static String unknownFields(int bytes) {
        StringBuilder body = new StringBuilder("{\"prompt\": \"hi\"");
        for (int i = 0; body.length() < bytes; i++) {
            body.append(", \"unknown_field_number_").append(i).append("\": \"").append("x".repeat(40)).append('"');
        }
        return body.append('}').toString();
    }

    @Test
    void aBodyOverTheLimitIs413BeforeItIsParsed() throws Exception {
        String huge = unknownFields(1_000_000);
        for (String path : List.of("/api/chat", "/api/chat/stream")) {
            HttpResponse<String> declared = post(path, HttpRequest.BodyPublishers.ofString(huge));
            assertThat(declared.statusCode()).as(path).isEqualTo(413);
            JsonNode error = this.json.readTree(declared.body());
            assertThat(error.get("error").asString()).isEqualTo("request_too_large");
            assertThat(error.get("detail").asString()).contains("specula.sample.max-request-size")
                .contains("65536");
            assertThat(declared.body().length()).isLessThan(300);

            // Chunked: no Content-Length, so the limit is enforced while the body is read.
            byte[] bytes = huge.getBytes(StandardCharsets.UTF_8);
            HttpResponse<String> chunked = post(path,
                    HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(bytes)));
            assertThat(chunked.statusCode()).as(path + ": " + chunked.body()).isEqualTo(413);
            assertThat(this.json.readTree(chunked.body()).get("detail").asString())
                .contains("specula.sample.max-request-size");
        }
    }

    @Test
    void unknownFieldsAreNamedInABoundedErrorBody() throws Exception {
        String body = unknownFields(60_000);
        HttpResponse<String> response = post("/api/chat", HttpRequest.BodyPublishers.ofString(body));
        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = this.json.readTree(response.body());
        assertThat(error.get("field").asString()).startsWith("unknown_field_number_");
        assertThat(error.get("errors")).hasSize(ChatRequestValidator.MAX_UNKNOWN_REPORTED + 1);
        assertThat(error.get("errors").get(ChatRequestValidator.MAX_UNKNOWN_REPORTED).get("message").asString())
            .endsWith("more unknown fields");
        assertThat(response.body()).doesNotContain("xxxxxxxxxx");
        assertThat(response.body().length()).isLessThan(4000);

        String longName = "{\"prompt\": \"hi\", \"options\": {\"" + "k".repeat(50_000) + "\": 1}}";
        HttpResponse<String> named = post("/api/chat", HttpRequest.BodyPublishers.ofString(longName));
        assertThat(named.statusCode()).isEqualTo(400);
        assertThat(this.json.readTree(named.body()).get("field").asString())
            .isEqualTo("options." + "k".repeat(ChatRequestValidator.MAX_NAME_REPORTED) + "...");
        assertThat(named.body().length()).isLessThan(1000);
    }

    @Test
    void stopSequencesAreBoundedInNumberAndLength() throws Exception {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 17; i++) {
            many.append(i == 0 ? "" : ", ").append("\"stop").append(i).append('"');
        }
        HttpResponse<String> tooMany = post("/api/chat", HttpRequest.BodyPublishers.ofString(
                "{\"prompt\": \"hi\", \"options\": {\"stop\": [" + many + "]}}"));
        assertThat(tooMany.statusCode()).isEqualTo(400);
        JsonNode error = this.json.readTree(tooMany.body());
        assertThat(error.get("field").asString()).isEqualTo("options.stop");
        assertThat(error.get("detail").asString()).contains("at most 16");

        HttpResponse<String> tooLong = post("/api/chat/stream", HttpRequest.BodyPublishers.ofString(
                "{\"prompt\": \"hi\", \"options\": {\"stop\": [\"" + "s".repeat(129) + "\"]}}"));
        assertThat(tooLong.statusCode()).isEqualTo(400);
        JsonNode error2 = this.json.readTree(tooLong.body());
        assertThat(error2.get("field").asString()).isEqualTo("options.stop[0]");
        assertThat(error2.get("detail").asString()).contains("at most 128 characters");
    }
}
