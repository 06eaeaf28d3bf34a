package io.specula.cli;

import io.specula.ProcessMemory;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code specula loadtest --url}: N clients stream chat completions from a running sample application
 * ({@code POST /api/chat/stream}, server-sent events) over HTTP for a fixed time; a share of them close the stream after
 * their first token events. Before the run, each prompt's target-only answer (options {@code speculative: false}, greedy,
 * the same seed) is fetched once from {@code POST /api/chat}; every completed stream must equal it. A 503 (the engine's
 * admission queue is full) is its own outcome, {@code busy}: the client backs off and sends again. The server's
 * resident memory is read from {@code /proc/<pid>/status} with {@code --server-pid}, else from the sample's
 * {@code GET /api/stats} ({@code process.rssBytes}); its engine counters from {@code GET /actuator/specula}.
 *
 * <p>Why one class of ~400 lines: it is one run read top to bottom (reference answers, clients, the report), and its
 * parts share the run's counters; split, the report would need the clients' state passed around.
 */
final class HttpLoadTest {

    private final LoadTestCommand options;
    private final URI base;
    private final HttpClient http;

    HttpLoadTest(LoadTestCommand options) {
        this.options = options;
        String url = options.url.endsWith("/") ? options.url.substring(0, options.url.length() - 1) : options.url;
        this.base = URI.create(url);
        // HTTP/1.1: one connection per stream, closed when a client goes away (no h2c upgrade attempt).
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();
    }

    /** Outcomes of the run, shared by the clients. */
    static final class Outcomes {
        final LongAdder sent = new LongAdder();
        final LongAdder busy = new LongAdder();
        final Map<String, LongAdder> busyRetryAfter = new ConcurrentHashMap<>();
        final LoadTestCommand.Stats stats = new LoadTestCommand.Stats();

        long accounted() {
            LoadTestCommand.Stats s = stats;
            return s.completed.sum() + s.disconnected.sum() + busy.sum()
                    + s.errors.values().stream().mapToLong(LongAdder::sum).sum();
        }
    }

    int run(PrintWriter out) throws Exception {
        JsonObject server = getJson("/actuator/specula");
        JsonObject statsBefore = getJson("/api/stats");
        long serverPid = options.serverPid > 0 ? options.serverPid : pidOf(statsBefore);
        long rssStart = serverRss(statsBefore);

        // The reference: each prompt's answer from the target alone, same greedy options and seed.
        Map<Integer, String> expected = new TreeMap<>();
        for (int p = 0; p < LoadTestCommand.PROMPTS.size(); p++) {
            expected.put(p, reference(p));
        }
        JsonObject before = getJson("/actuator/specula");
        long rssLoaded = serverRss(getJson("/api/stats"));

        Outcomes outcomes = new Outcomes();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(options.seconds);
        CountDownLatch done = new CountDownLatch(options.clients);
        long t0 = System.nanoTime();
        for (int c = 0; c < options.clients; c++) {
            SplittableRandom random = new SplittableRandom(options.seed * 1_000_003 + c);
            Thread client = new Thread(() -> {
                try {
                    while (System.nanoTime() < deadline) {
                        oneRequest(random, expected, outcomes);
                    }
                } finally {
                    done.countDown();
                }
            }, "loadtest-http-client-" + c);
            client.setDaemon(true);
            client.start();
        }
        boolean allDone = done.await(options.seconds + 300L, TimeUnit.SECONDS);
        double elapsed = (System.nanoTime() - t0) / 1e9;
        // Streams that clients closed end on the server at its next write: let them finish before reading.
        JsonObject after = getJson("/actuator/specula");
        long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (after != null && num(after, "serving", "requestsInFlight") > 0 && System.nanoTime() < settle) {
            Thread.sleep(20);
            after = getJson("/actuator/specula");
        }
        long rssEnd = serverRss(getJson("/api/stats"));

        LoadTestCommand.Stats stats = outcomes.stats;
        List<Long> lat = new ArrayList<>(stats.latenciesNanos);
        List<Long> ttft = new ArrayList<>(stats.firstChunkNanos);
        Collections.sort(lat);
        Collections.sort(ttft);
        out.printf(Locale.ROOT, "loadtest: %s over HTTP (server pid %s; target %s, drafter %s, %s kernel; engine: %s "
                        + "in flight, queue %s); %d clients for %d s, disconnect fraction %.2f, max tokens %d, busy "
                        + "back-off %d ms%n", base, serverPid > 0 ? Long.toString(serverPid) : "unknown",
                str(server, "models", "target"), str(server, "models", "drafter"), str(server, "models", "kernel"),
                str(server, "serving", "maxConcurrentRequests"), str(server, "serving", "maxQueuedRequests"),
                options.clients, options.seconds, options.disconnectFraction, options.maxTokens,
                options.busyBackoffMs);
        long errors = stats.errors.values().stream().mapToLong(LongAdder::sum).sum();
        long lost = outcomes.sent.sum() - outcomes.accounted();
        out.printf(Locale.ROOT, "requests: %d sent, %d completed, %d disconnected by the client, %d refused busy (503), "
                        + "%d errors, %d lost (%.1f s)%n", outcomes.sent.sum(), stats.completed.sum(),
                stats.disconnected.sum(), outcomes.busy.sum(), errors, lost, elapsed);
        new TreeMap<>(outcomes.busyRetryAfter).forEach((retryAfter, n) -> out.printf(Locale.ROOT,
                "  busy (Retry-After %s): %d%n", retryAfter, n.sum()));
        new TreeMap<>(stats.errors).forEach((kind, n) -> out.printf(Locale.ROOT, "  error %s: %d%n", kind, n.sum()));
        out.printf(Locale.ROOT, "latency (completed): p50 %.1f ms, p99 %.1f ms, max %.1f ms; first token p50 %.1f ms, "
                + "p99 %.1f ms%n", LoadTestCommand.pct(lat, 50), LoadTestCommand.pct(lat, 99),
                LoadTestCommand.pct(lat, 100), LoadTestCommand.pct(ttft, 50), LoadTestCommand.pct(ttft, 99));
        long engineTokens = before != null && after != null
                ? num(after, "cumulative", "generatedTokens") - num(before, "cumulative", "generatedTokens") : -1;
        out.printf(Locale.ROOT, "tokens/s: %.1f in completed answers, %s generated by the engine (cancelled streams "
                + "included)%n", stats.completionTokens.sum() / elapsed,
                engineTokens >= 0 ? String.format(Locale.ROOT, "%.1f", engineTokens / elapsed) : "unknown");
        out.printf(Locale.ROOT, "correctness: %d of %d completed answers equal the target-only answer for their seed%s%n",
                stats.completed.sum() - stats.mismatches.sum(), stats.completed.sum(),
                stats.mismatches.sum() == 0 ? "" : " (first mismatch: prompt " + stats.mismatchExample.get() + ")");
        long inFlight = -1;
        if (before != null && after != null) {
            inFlight = num(after, "serving", "requestsInFlight");
            out.printf(Locale.ROOT, "server engine after the run: %d in flight, %d queued, %d bytes of KV cache "
                            + "reserved; during the run admitted %d, refused %d (queue full) + %d (queue timeout) + %d "
                            + "(KV budget), %d cancelled while queued, %d requests finished as %s%n", inFlight,
                    num(after, "serving", "requestsQueued"), num(after, "serving", "kvCacheBytesReserved"),
                    delta(before, after, "serving", "admitted"), delta(before, after, "serving", "rejectedQueueFull"),
                    delta(before, after, "serving", "rejectedQueueTimeout"),
                    delta(before, after, "serving", "rejectedKvCacheBudget"),
                    delta(before, after, "serving", "cancelledWhileQueued"),
                    delta(before, after, "cumulative", "requests"), finishReasons(before, after));
        }
        out.printf(Locale.ROOT, "server RSS: %s at start, %s after the reference answers, %s at the end%n",
                mib(rssStart), mib(rssLoaded), mib(rssEnd));
        out.flush();
        boolean ok = allDone && stats.mismatches.sum() == 0 && lost == 0 && inFlight <= 0;
        return ok ? 0 : 2;
    }

    private String requestBody(int p, boolean speculative) {
        JsonObject options = new JsonObject();
        options.addProperty("temperature", 0);
        options.addProperty("seed", p);
        options.addProperty("maxTokens", this.options.maxTokens);
        if (!speculative) {
            options.addProperty("speculative", false);
        }
        JsonObject body = new JsonObject();
        body.addProperty("prompt", LoadTestCommand.PROMPTS.get(p));
        body.add("options", options);
        return body.toString();
    }

    private HttpRequest.Builder post(String path, String body) {
        return HttpRequest.newBuilder(base.resolve(base.getPath() + path))
            .header("Content-Type", "application/json")
            .timeout(Duration.ofSeconds(300))
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    }

    /** The target-only answer to prompt p; waits out a busy server (up to a minute). */
    private String reference(int p) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            HttpResponse<String> response;
            try {
                response = http.send(post("/api/chat", requestBody(p, false)).header("Accept", "application/json")
                    .build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                throw new IOException("--url: cannot reach " + base + "/api/chat (" + (e.getMessage() != null
                        ? e.getMessage() : e.getClass().getSimpleName()) + "); is the sample application running?", e);
            }
            if (response.statusCode() == 200) {
                return JsonParser.parseString(response.body()).getAsJsonObject().get("text").getAsString();
            }
            if (response.statusCode() != 503 || System.nanoTime() > deadline) {
                throw new IOException("POST /api/chat (the reference answer of prompt " + p + "): HTTP "
                        + response.statusCode() + " " + response.body());
            }
            Thread.sleep(Math.max(100, options.busyBackoffMs));
        }
    }

    private void oneRequest(SplittableRandom random, Map<Integer, String> expected, Outcomes outcomes) {
        LoadTestCommand.Stats stats = outcomes.stats;
        int p = random.nextInt(LoadTestCommand.PROMPTS.size());
        boolean disconnect = random.nextDouble() < options.disconnectFraction;
        int readBeforeLeaving = 1 + random.nextInt(2);
        HttpRequest request = post("/api/chat/stream", requestBody(p, true)).header("Accept", "text/event-stream")
            .build();
        outcomes.sent.increment();
        long start = System.nanoTime();
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            if (response.statusCode() != 200) {
                String body;
                try (InputStream in = response.body()) {
                    body = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                }
                if (response.statusCode() == 503) {
                    outcomes.busy.increment();
                    outcomes.busyRetryAfter.computeIfAbsent(response.headers().firstValue("Retry-After")
                            .map(s -> s + " s").orElse("none"), k -> new LongAdder()).increment();
                    backOff();
                    return;
                }
                error(stats, "http_" + response.statusCode() + ":" + errorKind(body));
                return;
            }
            StringBuilder text = new StringBuilder();
            long completionTokens = -1;
            long firstToken = 0;
            int tokenEvents = 0;
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(),
                    StandardCharsets.UTF_8))) {
                String name = "message";
                StringBuilder data = new StringBuilder();
                String line;
                while ((line = reader.readLine()) != null) {
                    if (line.startsWith("event:")) {
                        name = line.substring(6).trim();
                        continue;
                    }
                    if (line.startsWith("data:")) {
                        if (!data.isEmpty()) {
                            data.append('\n');
                        }
                        data.append(line, line.startsWith("data: ") ? 6 : 5, line.length());
                        continue;
                    }
                    if (!line.isEmpty() || data.isEmpty()) {
                        continue;
                    }
                    JsonObject event = JsonParser.parseString(data.toString()).getAsJsonObject();
                    data.setLength(0);
                    switch (name) {
                        case "token" -> {
                            if (firstToken == 0) {
                                firstToken = System.nanoTime() - start;
                            }
                            text.append(event.get("text").getAsString());
                            if (disconnect && ++tokenEvents >= readBeforeLeaving) {
                                // The client goes away: closing the body closes the connection mid-stream.
                                stats.disconnected.increment();
                                return;
                            }
                        }
                        case "done" -> completionTokens = event.getAsJsonObject("usage").get("completionTokens")
                            .getAsLong();
                        case "error" -> {
                            error(stats, "stream_error:" + errorKind(event.toString()));
                            return;
                        }
                        default -> {
                            // other events are not part of the API; ignored
                        }
                    }
                    name = "message";
                }
            }
            if (completionTokens < 0) {
                error(stats, "stream_ended_without_done");
                return;
            }
            stats.latenciesNanos.add(System.nanoTime() - start);
            stats.firstChunkNanos.add(firstToken);
            stats.completed.increment();
            stats.completionTokens.add(completionTokens);
            if (!text.toString().equals(expected.get(p))) {
                stats.mismatches.increment();
                stats.mismatchExample.compareAndSet(-1, p);
            }
        } catch (IOException | RuntimeException e) {
            error(stats, "client:" + e.getClass().getSimpleName());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            error(stats, "client:interrupted");
        }
    }

    private void backOff() {
        if (options.busyBackoffMs > 0) {
            try {
                Thread.sleep(options.busyBackoffMs);
            } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void error(LoadTestCommand.Stats stats, String kind) {
        stats.errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
    }

    /** The {@code error} field of a JSON error body, or "unknown". */
    static String errorKind(String body) {
        try {
            JsonElement error = JsonParser.parseString(body).getAsJsonObject().get("error");
            return error != null && error.isJsonPrimitive() ? error.getAsString() : "unknown";
        } catch (RuntimeException e) {
            return "unknown";
        }
    }

    /** GET a JSON object; null when the server does not have it. */
    private JsonObject getJson(String path) {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(base.resolve(base.getPath() + path))
                .header("Accept", "application/json").timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (response.statusCode() != 200) {
                return null;
            }
            JsonElement json = JsonParser.parseString(response.body());
            return json.isJsonObject() ? json.getAsJsonObject() : null;
        } catch (IOException | RuntimeException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    private static long pidOf(JsonObject stats) {
        return num(stats, "process", "pid");
    }

    /** The server's RSS: /proc/PID/status with --server-pid, else what /api/stats reports; 0 when unknown. */
    private long serverRss(JsonObject stats) {
        if (options.serverPid > 0) {
            return ProcessMemory.rssBytes(options.serverPid);
        }
        return num(stats, "process", "rssBytes");
    }

    private static String finishReasons(JsonObject before, JsonObject after) {
        JsonObject a = obj(after, "cumulative", "requestsByFinishReason");
        JsonObject b = obj(before, "cumulative", "requestsByFinishReason");
        if (a == null) {
            return "unknown";
        }
        List<String> parts = new ArrayList<>();
        for (String reason : new java.util.TreeSet<>(a.keySet())) {
            long n = a.get(reason).getAsLong() - (b != null && b.has(reason) ? b.get(reason).getAsLong() : 0);
            if (n != 0) {
                parts.add(n + " " + reason);
            }
        }
        return parts.isEmpty() ? "nothing" : String.join(", ", parts);
    }

    private static long delta(JsonObject before, JsonObject after, String group, String field) {
        return num(after, group, field) - num(before, group, field);
    }

    private static JsonObject obj(JsonObject json, String... path) {
        JsonElement e = json;
        for (String key : path) {
            if (e == null || !e.isJsonObject()) {
                return null;
            }
            e = e.getAsJsonObject().get(key);
        }
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : null;
    }

    private static JsonElement at(JsonObject json, String group, String field) {
        if (json == null || !json.has(group) || !json.get(group).isJsonObject()) {
            return null;
        }
        JsonElement e = json.getAsJsonObject(group).get(field);
        return e == null || e.isJsonNull() ? null : e;
    }

    static long num(JsonObject json, String group, String field) {
        JsonElement e = at(json, group, field);
        return e != null && e.isJsonPrimitive() ? e.getAsLong() : 0;
    }

    private static String str(JsonObject json, String group, String field) {
        JsonElement e = at(json, group, field);
        return e != null ? e.getAsString() : "?";
    }

    private static String mib(long bytes) {
        return bytes > 0 ? (bytes >> 20) + " MiB" : "unknown";
    }
}
