package io.specula.autoconfigure.integration;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.specula.speculative.policy.DraftPolicy;
import io.specula.chat.SpeculaChatMetadata;
import io.specula.chat.SpeculaChatModel;
import io.specula.engine.SpeculaEngine;
import io.specula.chat.SpeculaChatOptions;
import io.specula.generate.FinishReason;
import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.http.MediaType;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.client.RestClient;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The starter end to end: a web application on a real port with the auto-configured engine over real tiny model
 * directories (a Qwen-style target with a chat template, and a drafter with the same weights so that every draft is
 * accepted), ChatClient call and stream, cancellation, and the Actuator endpoints.
 */
@SpringBootTest(classes = SpeculaApplicationIntegrationTests.TestApplication.class,
        webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = { "spring.ai.specula.chat.temperature=0", "spring.ai.specula.chat.max-tokens=32",
                "spring.ai.specula.chat.draft-tokens=4", "spring.ai.specula.chat.draft-policy=fixed",
                "management.endpoints.web.exposure.include=health,prometheus,specula,metrics",
                "management.endpoint.health.show-details=always" })
class SpeculaApplicationIntegrationTests {

    static final Path MODELS = writeModels();

    static final String QUESTION = "Tell me about the quick brown fox";

    @DynamicPropertySource
    static void models(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.specula.target", () -> MODELS.resolve("target").toString());
        registry.add("spring.ai.specula.drafter", () -> MODELS.resolve("drafter").toString());
    }

    static Path writeModels() {
        try {
            // The drafter is the target's twin, so every drafted token is accepted.
            return TinyModelDirs.qwenTwins(Files.createDirectories(Path.of("target", "integration-models"))
                .toAbsolutePath(), 7);
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    ChatClient.Builder chatClientBuilder;

    @Autowired
    ChatModel chatModel;

    @Autowired
    SpeculaEngine engine;

    RestClient http() {
        return RestClient.create("http://localhost:" + this.port);
    }

    @Test
    void theAutoConfiguredChatModelIsSpecula() {
        assertThat(this.chatModel).isInstanceOf(SpeculaChatModel.class);
        assertThat(((SpeculaChatModel) this.chatModel).getEngine().info().targetName()).isEqualTo("target");
    }

    @Test
    void callGivesTheTargetsGreedyAnswerWithOrWithoutSpeculation() {
        ChatClient chatClient = this.chatClientBuilder.build();
        ChatResponse speculative = chatClient.prompt().user(QUESTION).call().chatResponse();
        ChatResponse plain = chatClient.prompt()
            .user(QUESTION)
            .options(SpeculaChatOptions.builder().speculative(false))
            .call()
            .chatResponse();

        assertThat(speculative.getResult().getOutput().getText()).isEqualTo(plain.getResult().getOutput().getText());
        assertThat(speculative.getResult().getMetadata().getFinishReason()).isIn("STOP", "LENGTH");
        assertThat(speculative.getMetadata().getModel()).isEqualTo("target");
        assertThat(speculative.getMetadata().getUsage().getPromptTokens()).isPositive();

        var metadata = speculative.getResult().getMetadata();
        assertThat((Boolean) metadata.get(SpeculaChatMetadata.SPECULATIVE)).isTrue();
        assertThat((String) metadata.get(SpeculaChatMetadata.DRAFT_MODEL)).isEqualTo("drafter");
        long drafted = metadata.get(SpeculaChatMetadata.DRAFTED_TOKENS);
        long accepted = metadata.get(SpeculaChatMetadata.ACCEPTED_TOKENS);
        if (speculative.getMetadata().getUsage().getCompletionTokens() > 1) {
            assertThat(drafted).isPositive();
            assertThat(accepted).isEqualTo(drafted);
            assertThat((Double) metadata.get(SpeculaChatMetadata.ACCEPTANCE_RATE)).isEqualTo(1.0);
        }
        assertThat((Boolean) plain.getResult().getMetadata().get(SpeculaChatMetadata.SPECULATIVE)).isFalse();
        assertThat((Long) plain.getResult().getMetadata().get(SpeculaChatMetadata.DRAFTED_TOKENS)).isZero();
    }

    @Test
    void streamChunksNameTheirTokenSourcesAndAddUpToTheAnswer() {
        ChatClient chatClient = this.chatClientBuilder.build();
        String answer = chatClient.prompt().user(QUESTION).call().content();
        List<ChatResponse> chunks = chatClient.prompt()
            .user(QUESTION)
            .stream()
            .chatResponse()
            .collectList()
            .block(Duration.ofSeconds(60));

        StringBuilder text = new StringBuilder();
        List<String> sources = new ArrayList<>();
        for (ChatResponse chunk : chunks) {
            text.append(chunk.getResult().getOutput().getText());
            List<String> chunkSources = chunk.getResult().getMetadata().get(SpeculaChatMetadata.TOKEN_SOURCES);
            if (!chunk.getResult().getOutput().getText().isEmpty()) {
                assertThat(chunkSources).isNotEmpty();
            }
            sources.addAll(chunkSources);
        }
        assertThat(text.toString()).isEqualTo(answer);
        assertThat(sources).allMatch(s -> s.equals("DRAFTER") || s.equals("TARGET"));
        ChatResponse last = chunks.get(chunks.size() - 1);
        assertThat(last.getResult().getMetadata().getFinishReason()).isIn("STOP", "LENGTH");
        if (sources.size() > 2) {
            assertThat(sources).contains("DRAFTER", "TARGET");
        }
    }

    @Test
    void cancellingAStreamStopsTheGeneration() throws InterruptedException {
        long before = this.engine.statistics().requests(FinishReason.CANCELLED);
        List<ChatResponse> first = this.chatClientBuilder.build()
            .prompt()
            .user(QUESTION)
            .options(SpeculaChatOptions.builder().maxTokens(400))
            .stream()
            .chatResponse()
            .filter(chunk -> !chunk.getResult().getOutput().getText().isEmpty())
            .take(1)
            .collectList()
            .block(Duration.ofSeconds(60));
        assertThat(first).hasSize(1);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (this.engine.statistics().requests(FinishReason.CANCELLED) == before && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(this.engine.statistics().requests(FinishReason.CANCELLED)).isEqualTo(before + 1);
    }

    @Test
    void chatOverHttpCallAndServerSentEvents() {
        Map<?, ?> call = http().get().uri(b -> b.path("/chat").queryParam("q", QUESTION).build())
            .retrieve()
            .body(Map.class);
        assertThat(call.get("finishReason")).isIn("STOP", "LENGTH");
        // text/event-stream is UTF-8 by definition (the response names no charset)
        String sse = new String(http().get()
            .uri(b -> b.path("/chat/stream").queryParam("q", QUESTION).build())
            .accept(MediaType.TEXT_EVENT_STREAM)
            .retrieve()
            .body(byte[].class), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(joinEvents(sse)).isEqualTo(call.get("text"));
    }

    /** The data of a text/event-stream body, event after event. */
    static String joinEvents(String body) {
        StringBuilder text = new StringBuilder();
        for (String event : body.split("\n\n")) {
            List<String> data = new ArrayList<>();
            for (String line : event.split("\n", -1)) {
                if (line.startsWith("data:")) {
                    data.add(line.substring(5));
                }
            }
            text.append(String.join("\n", data));
        }
        return text.toString();
    }

    @Test
    void speculativeEndpointShowsThePairAndTheStatisticsButNoText() {
        this.chatClientBuilder.build().prompt().user(QUESTION).call().content();
        Map<?, ?> body = http().get().uri("/actuator/specula").retrieve().body(Map.class);
        Map<?, ?> models = (Map<?, ?>) body.get("models");
        assertThat(models.get("target")).isEqualTo("target");
        assertThat(models.get("drafter")).isEqualTo("drafter");
        assertThat(models.get("device")).isEqualTo("cpu");
        Map<?, ?> configuration = (Map<?, ?>) body.get("configuration");
        assertThat(configuration.get("draftTokens")).isEqualTo(4);
        assertThat(configuration.get("draftPolicy")).isEqualTo("fixed");
        Map<?, ?> cumulative = (Map<?, ?>) body.get("cumulative");
        assertThat(((Number) cumulative.get("requests")).longValue()).isPositive();
        assertThat(((Number) cumulative.get("draftedTokens")).longValue()).isPositive();
        assertThat(((Number) cumulative.get("acceptanceRate")).doubleValue()).isEqualTo(1.0);
        assertThat((List<?>) body.get("acceptanceByPosition")).isNotEmpty();
        assertThat(body.get("recent")).isNotNull();

        // The default (adaptive) policy's choices and estimates are visible once a request used it.
        this.chatClientBuilder.build().prompt().user(QUESTION)
            .options(SpeculaChatOptions.builder().draftPolicy(DraftPolicy.ADAPTIVE)).call().content();
        Map<?, ?> policy = (Map<?, ?>) http().get().uri("/actuator/specula").retrieve().body(Map.class).get("policy");
        assertThat(((Number) policy.get("steps")).longValue()).isPositive();
        assertThat((List<?>) policy.get("chosenDraftLengths")).hasSize(17);
        // A draft's estimated cost is known: fixed part + part per token + catch-up per token. Any part alone may be
        // fitted as 0 when the drafts were nearly all of one length and caught up the same number of tokens (the
        // parts are then not told apart); fixed + per token alone came out 0 once in a loaded full build.
        assertThat(((Number) policy.get("draftFixedMillis")).doubleValue()
                + ((Number) policy.get("draftMillisPerToken")).doubleValue()
                + ((Number) policy.get("catchUpMillisPerToken")).doubleValue()).isPositive();

        String raw = http().get().uri("/actuator/specula").retrieve().body(String.class);
        assertThat(raw).doesNotContain("quick brown fox");
    }

    @Test
    void prometheusHasSpeculasMetersAndSpringAisTokenUsage() {
        this.chatClientBuilder.build().prompt().user(QUESTION).call().content();
        String scrape = http().get().uri("/actuator/prometheus").retrieve().body(String.class);
        assertThat(scrape).contains("specula_speculative_draft_tokens_total{drafter=\"drafter\",target=\"target\"}")
            .contains("specula_speculative_accepted_tokens_per_position_total{drafter=\"drafter\",position=\"0\"")
            .contains("specula_speculative_acceptance_rate{drafter=\"drafter\",target=\"target\"} 1.0")
            .contains("specula_speculative_acceptance_length_count")
            .contains("specula_verify_seconds_count")
            .contains("specula_generated_tokens_total")
            .contains("specula_policy_plain_step_share{drafter=\"drafter\",target=\"target\"}")
            .contains("specula_policy_draft_length_chosen_total{drafter=\"drafter\",gamma=\"4\"")
            .contains("gen_ai_client_token_usage_total")
            .containsPattern("gen_ai_client_operation_seconds_count\\{[^}]*gen_ai_system=\"specula\"");
        assertThat(scrape.lines()
            .filter(l -> l.startsWith("gen_ai_client_token_usage_total") && l.contains("gen_ai_token_type=\"output\"")))
            .isNotEmpty();
    }

    @Test
    void timeToFirstTokenAndQueueTimeAreMetersAndMetadataCallAndStream() {
        ChatClient chatClient = this.chatClientBuilder.build();
        long started = System.nanoTime();
        ChatResponse call = chatClient.prompt().user(QUESTION).call().chatResponse();
        double wall = (System.nanoTime() - started) / 1e9;
        Double ttft = call.getResult().getMetadata().get(SpeculaChatMetadata.TIME_TO_FIRST_TOKEN);
        Double queue = call.getResult().getMetadata().get(SpeculaChatMetadata.QUEUE_TIME);
        // Plausible: positive, the queue before the first token, both within the call's own wall time.
        assertThat(queue).isNotNull().isGreaterThanOrEqualTo(0.0);
        assertThat(ttft).isNotNull().isPositive().isGreaterThanOrEqualTo(queue).isLessThanOrEqualTo(wall);

        List<ChatResponse> chunks = chatClient.prompt().user(QUESTION).stream().chatResponse().collectList()
            .block(Duration.ofSeconds(60));
        Double streamedTtft = chunks.get(chunks.size() - 1).getResult().getMetadata()
            .get(SpeculaChatMetadata.TIME_TO_FIRST_TOKEN);
        assertThat(streamedTtft).isNotNull().isPositive();

        String scrape = http().get().uri("/actuator/prometheus").retrieve().body(String.class);
        java.util.regex.Matcher count = java.util.regex.Pattern
            .compile("gen_ai_server_time_to_first_token_seconds_count\\{([^}]*)\\} (\\S+)")
            .matcher(scrape);
        assertThat(count.find()).as(scrape).isTrue();
        assertThat(count.group(1)).contains("gen_ai_operation_name=\"chat\"", "gen_ai_system=\"specula\"",
                "gen_ai_response_model=\"target\"");
        assertThat(Double.parseDouble(count.group(2))).isGreaterThanOrEqualTo(2);
        java.util.regex.Matcher sum = java.util.regex.Pattern
            .compile("gen_ai_server_time_to_first_token_seconds_sum\\{[^}]*\\} (\\S+)").matcher(scrape);
        assertThat(sum.find()).isTrue();
        assertThat(Double.parseDouble(sum.group(1))).isPositive();
        // The semantic conventions' buckets, for dashboards that compare providers.
        assertThat(scrape).contains("gen_ai_server_time_to_first_token_seconds_bucket{")
            .contains("le=\"0.25\"")
            .containsPattern("specula_request_queue_time_seconds_count\\{drafter=\"drafter\",target=\"target\"\\}");
    }

    @Test
    void neitherTheEndpointNorTheMetricsEverShowPromptOrCompletionText() {
        String canary = "Zqx7 canary-prompt Wmv3";
        String answer = this.chatClientBuilder.build().prompt().user(canary).call().content();
        String streamed = new String(http().get()
            .uri(b -> b.path("/chat/stream").queryParam("q", canary).build())
            .accept(MediaType.TEXT_EVENT_STREAM)
            .retrieve()
            .body(byte[].class), java.nio.charset.StandardCharsets.UTF_8);
        // (Not compared with the answer: a tiny random model may emit "\r", which text/event-stream splits.)
        assertThat(streamed).isNotEmpty();

        List<String> pages = new ArrayList<>();
        for (String uri : List.of("/actuator/specula", "/actuator/prometheus", "/actuator/health",
                "/actuator/metrics")) {
            pages.add(http().get().uri(uri).retrieve().body(String.class));
        }
        Map<?, ?> names = http().get().uri("/actuator/metrics").retrieve().body(Map.class);
        for (Object name : (List<?>) names.get("names")) {
            if (name.toString().startsWith("specula") || name.toString().startsWith("gen_ai")) {
                pages.add(http().get().uri("/actuator/metrics/" + name).retrieve().body(String.class));
            }
        }
        for (String page : pages) {
            for (String word : canary.split(" ")) {
                assertThat(page).doesNotContain(word);
            }
            // The answer of a tiny random model is arbitrary text: look for any 12 characters of it in a row.
            String text = answer.strip();
            for (int i = 0; i + 12 <= text.length(); i++) {
                assertThat(page).doesNotContain(text.substring(i, i + 12));
            }
        }
    }

    @Test
    void speculaMetricTagsTakeBoundedValues() {
        this.chatClientBuilder.build().prompt().user("bounded tags " + System.nanoTime()).call().content();
        String scrape = http().get().uri("/actuator/prometheus").retrieve().body(String.class);
        Map<String, java.util.Set<String>> allowed = Map.of("target", java.util.Set.of("target"), "drafter",
                java.util.Set.of("drafter"), "position",
                java.util.stream.IntStream.range(0, 16).mapToObj(Integer::toString)
                    .collect(java.util.stream.Collectors.toSet()),
                "finish_reason", java.util.Set.of("stop", "length", "cancelled"), "speculative",
                java.util.Set.of("true", "false"), "reason",
                java.util.Set.of("queue_full", "queue_timeout", "kv_cache_budget"), "gamma",
                java.util.stream.IntStream.rangeClosed(0, 16).mapToObj(Integer::toString)
                    .collect(java.util.stream.Collectors.toSet()),
                "width", java.util.stream.IntStream.rangeClosed(1, 17).mapToObj(Integer::toString)
                    .collect(java.util.stream.Collectors.toSet()),
                "outcome", java.util.Set.of("all", "accepted"), "le",
                java.util.Set.of("1.0", "2.0", "3.0", "4.0", "5.0", "6.0", "8.0", "10.0", "12.0", "17.0", "+Inf"));
        java.util.regex.Pattern label = java.util.regex.Pattern.compile("(\\w+)=\"([^\"]*)\"");
        List<String> lines = scrape.lines().filter(l -> l.startsWith("specula_")).toList();
        assertThat(lines).isNotEmpty();
        for (String line : lines) {
            int open = line.indexOf('{');
            if (open < 0) {
                continue;
            }
            var m = label.matcher(line.substring(open, line.indexOf('}')));
            while (m.find()) {
                assertThat(allowed).as(line).containsKey(m.group(1));
                assertThat(allowed.get(m.group(1))).as(line).contains(m.group(2));
            }
        }
        assertThat(scrape).contains("specula_requests_running{").contains("specula_requests_waiting{")
            .contains("specula_kv_cache_reserved_bytes{").contains("specula_engine_stall_seconds{")
            .contains("specula_requests_rejected_total{").contains("specula_drafter_faults_total{");
    }

    @Test
    void noOptionOfARequestCanPointTheServiceAtAnotherFile() {
        // No option is a path: the options' getters return numbers, flags, names and stop sequences only.
        for (java.lang.reflect.Method getter : SpeculaChatOptions.class.getMethods()) {
            if (getter.getParameterCount() == 0 && getter.getName().startsWith("get")
                    && getter.getDeclaringClass() != Object.class) {
                assertThat(getter.getReturnType()).as(getter.getName())
                    .isNotIn(Path.class, java.io.File.class, java.net.URI.class, java.net.URL.class);
                assertThat(getter.getName().toLowerCase(java.util.Locale.ROOT)).as(getter.getName())
                    .doesNotContain("path", "dir", "file", "url", "uri", "drafter", "target", "tokenizer", "template");
            }
        }
        // The one free-text option, model, only labels the request: naming another model directory (or any file)
        // neither loads nor reads it.
        ChatClient chatClient = this.chatClientBuilder.build();
        String expected = chatClient.prompt().user(QUESTION).call().content();
        for (String model : List.of(MODELS.resolve("drafter").toString(), "/etc/passwd", "../../../etc/shadow")) {
            ChatResponse response = chatClient.prompt()
                .user(QUESTION)
                .options(SpeculaChatOptions.builder().model(model))
                .call()
                .chatResponse();
            assertThat(response.getMetadata().getModel()).isEqualTo("target");
            assertThat(response.getResult().getOutput().getText()).isEqualTo(expected);
        }
    }

    @Test
    void healthShowsTheEngine() {
        Map<?, ?> health = http().get().uri("/actuator/health").retrieve().body(Map.class);
        assertThat(health.get("status")).isEqualTo("UP");
        Map<?, ?> specula = (Map<?, ?>) ((Map<?, ?>) health.get("components")).get("specula");
        assertThat(specula.get("status")).isEqualTo("UP");
        assertThat(((Map<?, ?>) specula.get("details")).get("target")).isEqualTo("target");
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    @Import(ChatController.class)
    static class TestApplication {

    }

    @RestController
    static class ChatController {

        private final ChatClient chatClient;

        ChatController(ChatClient.Builder builder) {
            this.chatClient = builder.build();
        }

        @GetMapping("/chat")
        Map<String, Object> chat(@RequestParam String q) {
            ChatResponse response = this.chatClient.prompt().user(q).call().chatResponse();
            return Map.of("text", response.getResult().getOutput().getText(), "finishReason",
                    response.getResult().getMetadata().getFinishReason());
        }

        @GetMapping(path = "/chat/stream", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
        Flux<String> stream(@RequestParam String q) {
            return this.chatClient.prompt().user(q).stream().content();
        }
    }
}
