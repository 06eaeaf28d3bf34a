package io.specula.sample.chat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample's HTTP API over real tiny models: the answer and its statistics, server-sent events with token
 * sources, 400s that name the field, a JSON error for an engine failure after which the application keeps serving,
 * the start-up benchmark, the page and the Actuator endpoint it reads.
 */
class ChatApiTests extends SampleApplicationTestBase {

    static final String QUESTION = "Tell me about the quick brown fox";

    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    final JsonMapper json = JsonMapper.builder().build();

    /** POSTs JSON, accepting what the page accepts: text/event-stream from the stream, JSON from the rest. */
    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return this.http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path))
            .header("Content-Type", "application/json")
            .header("Accept", path.endsWith("/stream") ? "text/event-stream" : "application/json")
            .timeout(Duration.ofSeconds(120))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return this.http.send(HttpRequest.newBuilder(URI.create(baseUrl() + path)).timeout(Duration.ofSeconds(30)).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    String request(String prompt, String options) {
        return this.json.writeValueAsString(Map.of("prompt", prompt)).replaceFirst("}$", ", \"options\": " + options + "}");
    }

    @Test
    void chatAnswersWithTheRequestsStatistics() throws Exception {
        HttpResponse<String> response = post("/api/chat", request(QUESTION, "{\"maxTokens\": 16}"));
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode answer = this.json.readTree(response.body());
        assertThat(answer.get("text").asString()).isNotEmpty();
        assertThat(answer.get("finishReason").asString()).isIn("STOP", "LENGTH");
        assertThat(answer.at("/usage/promptTokens").asLong()).isPositive();
        assertThat(answer.at("/usage/completionTokens").asLong()).isBetween(2L, 16L);
        JsonNode statistics = answer.get("statistics");
        assertThat(statistics.get("speculative").asBoolean()).isTrue();
        assertThat(statistics.get("draftModel").asString()).isEqualTo("drafter");
        assertThat(statistics.get("draftedTokens").asLong()).isPositive();
        // the drafter is the target's twin: every drafted token is accepted
        assertThat(statistics.get("acceptanceRate").asDouble()).isEqualTo(1.0);
        assertThat(statistics.get("meanAcceptanceLength").asDouble()).isGreaterThan(1.0);
        assertThat(statistics.get("tokensPerSecond").asDouble()).isPositive();
        assertThat(answer.get("elapsedSeconds").asDouble()).isPositive();
    }

    @Test
    void theTargetAloneGivesTheSameGreedyAnswer() throws Exception {
        JsonNode speculative = this.json.readTree(post("/api/chat", request(QUESTION, "{}")).body());
        JsonNode plain = this.json.readTree(post("/api/chat", request(QUESTION, "{\"speculative\": false}")).body());
        assertThat(plain.get("text").asString()).isEqualTo(speculative.get("text").asString());
        assertThat(plain.at("/statistics/speculative").asBoolean()).isFalse();
        assertThat(plain.at("/statistics/draftedTokens").asLong()).isZero();
    }

    @Test
    void streamSendsTokenEventsWithSourcesThenDone() throws Exception {
        String text = this.json.readTree(post("/api/chat", request(QUESTION, "{}")).body()).get("text").asString();

        HttpResponse<String> response = post("/api/chat/stream", request(QUESTION, "{}"));
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                type -> assertThat(type).startsWith("text/event-stream"));
        List<Event> events = events(response.body());
        List<Event> tokens = events.stream().filter(e -> e.name().equals("token")).toList();
        StringBuilder streamed = new StringBuilder();
        List<String> sources = new ArrayList<>();
        List<String> segmentSources = new ArrayList<>();
        for (Event token : tokens) {
            JsonNode data = this.json.readTree(token.data());
            streamed.append(data.get("text").asString());
            data.get("sources").forEach(source -> sources.add(source.asString()));
            StringBuilder segmented = new StringBuilder();
            data.get("segments").forEach(segment -> {
                segmented.append(segment.get("text").asString());
                segmentSources.add(segment.get("source").asString());
            });
            assertThat(segmented.toString()).as("an event's segments spell its text").isEqualTo(
                    data.get("text").asString());
        }
        assertThat(streamed.toString()).isEqualTo(text);
        assertThat(sources).contains("DRAFTER", "TARGET").allMatch(s -> s.equals("DRAFTER") || s.equals("TARGET"));
        assertThat(segmentSources).contains("DRAFTER", "TARGET");
        // Events gather tokens (the first text at once, then by time): fewer events than tokens.
        assertThat(tokens.size()).isLessThan(sources.size());

        Event done = events.get(events.size() - 1);
        assertThat(done.name()).isEqualTo("done");
        JsonNode answer = this.json.readTree(done.data());
        assertThat(answer.get("finishReason").asString()).isIn("STOP", "LENGTH");
        assertThat(answer.at("/statistics/acceptanceRate").asDouble()).isEqualTo(1.0);
        assertThat(answer.get("firstTokenSeconds").asDouble()).isPositive();
        assertThat(answer.has("text")).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            empty prompt              | {"prompt": "   "}                                              | prompt
            missing prompt            | {"options": {}}                                                | prompt
            negative temperature      | {"prompt": "hi", "options": {"temperature": -1}}               | options.temperature
            topP above one            | {"prompt": "hi", "options": {"topP": 1.5}}                     | options.topP
            too many tokens           | {"prompt": "hi", "options": {"maxTokens": 100000}}             | options.maxTokens
            no tokens                 | {"prompt": "hi", "options": {"maxTokens": 0}}                  | options.maxTokens
            draft too long            | {"prompt": "hi", "options": {"draftTokens": 17}}               | options.draftTokens
            unknown policy            | {"prompt": "hi", "options": {"draftPolicy": "eager"}}          | options.draftPolicy
            empty stop sequence       | {"prompt": "hi", "options": {"stop": ["x", ""]}}               | options.stop[1]
            misspelt option           | {"prompt": "hi", "options": {"temprature": 0.5}}               | options.temprature
            unknown field             | {"prompt": "hi", "model": "gpt"}                               | model
            wrong type                | {"prompt": "hi", "options": {"temperature": "hot"}}            | options.temperature
            wrong type in a list      | {"prompt": "hi", "options": {"maxTokens": [1]}}                | options.maxTokens
            malformed JSON            | {"prompt": "hi",                                               | body
            not an object             | "hi"                                                           | body
            """)
    void badRequestsGet400NamingTheField(String name, String body, String field) throws Exception {
        for (String path : List.of("/api/chat", "/api/chat/stream")) {
            HttpResponse<String> response = post(path, body);
            assertThat(response.statusCode()).as(path).isEqualTo(400);
            // RFC 9457: application/problem+json with type, title, status and detail.
            assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                    type -> assertThat(type).startsWith("application/problem+json"));
            JsonNode error = this.json.readTree(response.body());
            assertThat(error.get("type").asString()).isEqualTo("urn:specula:problem:invalid_request");
            assertThat(error.get("title").asString()).isEqualTo("Invalid request");
            assertThat(error.get("status").asInt()).isEqualTo(400);
            assertThat(error.get("error").asString()).isEqualTo("invalid_request");
            assertThat(error.get("field").asString()).as(response.body()).isEqualTo(field);
            assertThat(error.get("detail").asString()).as(response.body()).startsWith(field + ": ");
        }
    }

    @Test
    void aBodyThatIsNotJsonGets415AsJson() throws Exception {
        HttpResponse<String> response = this.http.send(HttpRequest.newBuilder(URI.create(baseUrl() + "/api/chat"))
            .header("Content-Type", "text/plain")
            .POST(HttpRequest.BodyPublishers.ofString("hello"))
            .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(415);
        assertThat(this.json.readTree(response.body()).get("status").asInt()).isEqualTo(415);
    }

    @Test
    void everyFieldAtFaultIsNamed() throws Exception {
        JsonNode error = this.json.readTree(
                post("/api/chat", "{\"prompt\": \"\", \"options\": {\"topK\": -1, \"draftTokens\": 0}}").body());
        assertThat(error.get("errors").findValuesAsString("field")).containsExactly("prompt", "options.topK",
                "options.draftTokens");
    }

    @Test
    void anEngineFailureIsAJsonErrorAndTheApplicationKeepsServing() throws Exception {
        // a prompt that does not fit in the context window (spring.ai.specula.max-context-tokens=256)
        String tooLong = "the quick brown fox jumps over the lazy dog ".repeat(40);
        HttpResponse<String> call = post("/api/chat", request(tooLong, "{}"));
        assertThat(call.statusCode()).isEqualTo(500);
        JsonNode error = this.json.readTree(call.body());
        assertThat(error.get("error").asString()).isEqualTo("engine_error");
        assertThat(error.get("detail").asString()).contains("context window");

        HttpResponse<String> stream = post("/api/chat/stream", request(tooLong, "{}"));
        List<Event> events = events(stream.body());
        assertThat(events).extracting(Event::name).containsExactly("error");
        assertThat(this.json.readTree(events.get(0).data()).get("detail").asString()).contains("context window");
        assertThat(this.json.readTree(events.get(0).data()).get("status").asInt()).isEqualTo(500);

        assertThat(post("/api/chat", request(QUESTION, "{}")).statusCode()).isEqualTo(200);
    }

    @Test
    void statsReportTheStartupBenchmark() throws Exception {
        JsonNode benchmark = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            benchmark = this.json.readTree(get("/api/stats").body()).get("benchmark");
            if (!List.of("pending", "running").contains(benchmark.get("status").asString())) {
                break;
            }
            Thread.sleep(200);
        }
        assertThat(benchmark.get("status").asString()).as(benchmark.toString()).isEqualTo("done");
        assertThat(benchmark.get("speedup").asDouble()).isPositive();
        assertThat(benchmark.get("sameText").asBoolean()).isTrue();
        assertThat(benchmark.at("/plain/tokensPerSecond").asDouble()).isPositive();
        assertThat(benchmark.at("/speculative/tokensPerSecond").asDouble()).isPositive();
        assertThat(benchmark.at("/speculative/acceptanceRate").asDouble()).isEqualTo(1.0);
        assertThat(benchmark.at("/speculative/draftedTokens").asLong()).isPositive();
        assertThat(benchmark.at("/speculative/acceptedTokens").asLong())
            .isEqualTo(benchmark.at("/speculative/draftedTokens").asLong());
        assertThat(benchmark.at("/plain/draftedTokens").asLong()).isZero();
        assertThat(benchmark.get("rounds").asInt()).isEqualTo(1);
        assertThat(benchmark.at("/speculative/roundTokensPerSecond")).hasSize(1);
        // It drafted, so there is no "not drafting" note; the policy's own account is there either way.
        assertThat(benchmark.has("notDrafting")).isFalse();
        assertThat(benchmark.get("policy").asString()).isNotBlank();
        assertThat(benchmark.at("/plain/text").isMissingNode()).isTrue();
        // the server process, for the HTTP load test's memory figures
        JsonNode process = this.json.readTree(get("/api/stats").body()).get("process");
        assertThat(process.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
        assertThat(process.get("rssBytes").asLong()).isPositive();
    }

    @Test
    void thePageAndTheActuatorEndpointAreServed() throws Exception {
        HttpResponse<String> page = get("/");
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<title>Specula").contains("app.js");
        assertThat(get("/app.js").statusCode()).isEqualTo(200);
        assertThat(get("/app.css").statusCode()).isEqualTo(200);
        JsonNode speculative = this.json.readTree(get("/actuator/specula").body());
        assertThat(speculative.at("/models/target").asString()).isEqualTo("target");
        assertThat(speculative.at("/models/drafter").asString()).isEqualTo("drafter");
        assertThat(speculative.at("/configuration/draftPolicy").asString()).isEqualTo("fixed");
    }

    record Event(String name, String data) {
    }

    /** The events of a text/event-stream body. */
    static List<Event> events(String body) {
        List<Event> events = new ArrayList<>();
        for (String block : body.replace("\r\n", "\n").split("\n\n")) {
            String name = "message";
            List<String> data = new ArrayList<>();
            for (String line : block.split("\n")) {
                if (line.startsWith("event:")) {
                    name = line.substring(6).trim();
                }
                else if (line.startsWith("data:")) {
                    data.add(line.substring(line.startsWith("data: ") ? 6 : 5));
                }
            }
            if (!data.isEmpty()) {
                events.add(new Event(name, String.join("\n", data)));
            }
        }
        return events;
    }
}
