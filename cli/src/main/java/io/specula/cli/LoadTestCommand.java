package io.specula.cli;

import static io.specula.ProcessMemory.rssBytes;
import static io.specula.ProcessMemory.usedHeapAfterGc;

import io.specula.SpeculaException;
import io.specula.chat.SpeculaChatModel;
import io.specula.chat.SpeculaChatOptions;
import io.specula.EngineBusyException;
import io.specula.engine.EngineConfig;
import io.specula.engine.ServingLimits;
import io.specula.engine.ServingStatus;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import reactor.core.publisher.Flux;

import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.chat.prompt.Prompt;

import java.io.PrintWriter;
import java.nio.file.Path;
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
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code specula loadtest}: N clients stream chat completions from an engine loaded in this process, through the
 * same Spring AI {@code ChatModel.stream()} an application serves (Reactor Flux, cancellation on disconnect), for a
 * fixed time. A fraction of the clients go away after their first chunks (the Flux is cancelled). Every completed
 * answer is checked against the target-only (speculation off) greedy answer to the same prompt. Prints requests
 * completed, errors by kind, latency percentiles, tokens per second and the process's memory at start and end.
 *
 * <p>By default in process: no socket is opened; the client count and the duration are bounded. With {@code --url}
 * the same clients stream from a running sample application over HTTP instead ({@link HttpLoadTest}): the engine
 * options then come from the server's configuration.
 */
@Command(name = "loadtest", mixinStandardHelpOptions = true,
        description = "Concurrent streaming clients against an in-process engine, or (--url) against the sample "
                + "application over HTTP; correctness and memory under load.")
final class LoadTestCommand implements java.util.concurrent.Callable<Integer> {

    static final int MAX_CLIENTS = 256;
    static final int MAX_SECONDS = 600;

    @Spec
    CommandSpec spec;

    @Option(names = "--target", description = "Target model: a Hugging Face directory, a .gguf file or ollama:NAME[:TAG] (in process; required without --url).")
    Path target;

    @Option(names = "--url", description = "Base URL of a running sample application, e.g. http://127.0.0.1:8080: "
            + "clients stream from its POST /api/chat/stream instead of an in-process engine (the --target, --drafter "
            + "and engine options are then not used).")
    String url;

    @Option(names = "--server-pid", defaultValue = "0", description = "With --url: the server's process id, to read "
            + "its RSS from /proc/PID/status (default: the process.rssBytes that the sample's GET /api/stats reports).")
    long serverPid;

    @Option(names = "--drafter", description = "Drafter model (a Hugging Face directory, a .gguf file or ollama:NAME[:TAG]), 'ngram', or none (default).")
    String drafter;

    @Option(names = "--clients", defaultValue = "8", description = "Concurrent clients, 1.." + MAX_CLIENTS
            + " (default ${DEFAULT-VALUE}).")
    int clients;

    @Option(names = "--seconds", defaultValue = "10", description = "How long clients keep sending, 1.." + MAX_SECONDS
            + " (default ${DEFAULT-VALUE}).")
    int seconds;

    @Option(names = "--disconnect-fraction", defaultValue = "0.2",
            description = "Share of requests whose client goes away after its first chunks (default ${DEFAULT-VALUE}).")
    double disconnectFraction;

    @Option(names = "--max-tokens", defaultValue = "32", description = "Tokens per answer (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--max-concurrent-requests", defaultValue = "4",
            description = "Engine: sequences in flight (default ${DEFAULT-VALUE}).")
    int maxConcurrent;

    @Option(names = "--max-queued-requests", defaultValue = "16",
            description = "Engine: admission queue length (default ${DEFAULT-VALUE}).")
    int maxQueued;

    @Option(names = "--queue-timeout-ms", defaultValue = "10000",
            description = "Engine: longest wait for a slot (default ${DEFAULT-VALUE}).")
    long queueTimeoutMs;

    @Option(names = "--kv-cache-budget-mb", defaultValue = "0",
            description = "Engine: KV cache budget in MiB, 0 = none (default ${DEFAULT-VALUE}).")
    long kvCacheBudgetMb;

    @Option(names = "--busy-backoff-ms", defaultValue = "50",
            description = "How long a client waits after the engine said busy (default ${DEFAULT-VALUE}).")
    long busyBackoffMs;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the clients' choices (default ${DEFAULT-VALUE}).")
    long seed;

    static final List<String> PROMPTS = List.of(
            "It is a truth universally acknowledged, that",
            "Sherlock Holmes took his bottle from the corner of the mantel-piece",
            "The quick brown fox jumps over the lazy dog. The quick brown fox",
            "Once upon a time, in a small village by the sea,",
            "Write a haiku about the autumn moon.",
            "List three prime numbers and explain why they are prime.",
            "What is the capital of France? Answer in one word.",
            "Summarise the plot of Hamlet in two sentences.");

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        check(clients >= 1 && clients <= MAX_CLIENTS, "--clients: expected 1.." + MAX_CLIENTS);
        check(seconds >= 1 && seconds <= MAX_SECONDS, "--seconds: expected 1.." + MAX_SECONDS);
        check(disconnectFraction >= 0 && disconnectFraction <= 1, "--disconnect-fraction: expected 0..1");
        check(maxTokens >= 1, "--max-tokens: expected >= 1");
        if (url != null) {
            check(url.startsWith("http://") || url.startsWith("https://"), "--url: expected http://HOST:PORT");
            return new HttpLoadTest(this).run(out);
        }
        check(target != null, "--target: required (or --url for a running sample application)");

        // Spring AI's stream aggregator logs every failed stream at ERROR; refusals are counted and reported here.
        String aggregatorLog = "org.slf4j.simpleLogger.log.org.springframework.ai.chat.model.MessageAggregator";
        if (System.getProperty(aggregatorLog) == null) {
            System.setProperty(aggregatorLog, "off");
        }
        long rssStart = rssBytes();
        ServingLimits limits = new ServingLimits(maxConcurrent, maxQueued, Duration.ofMillis(queueTimeoutMs),
                kvCacheBudgetMb << 20, 0);
        EngineConfig config = EngineConfig.of(target, drafter).withLimits(limits);
        try (SpeculaEngine engine = SpeculaEngine.load(config)) {
            LongAdder engineTokens = new LongAdder();
            engine.addDecodingListener(new DecodingListener() {
                @Override
                public void onRequestFinished(DecodingStats stats, FinishReason reason) {
                    engineTokens.add(stats.generatedTokens());
                }
            });
            SpeculaChatModel model = SpeculaChatModel.builder().engine(engine)
                .options(SpeculaChatOptions.builder().temperature(0.0).maxTokens(maxTokens).build())
                .build();

            // The reference: each prompt's greedy answer with the target alone.
            Map<Integer, String> expected = new TreeMap<>();
            for (int i = 0; i < PROMPTS.size(); i++) {
                expected.put(i, model.call(new Prompt(PROMPTS.get(i),
                        SpeculaChatOptions.builder().speculative(false).build())).getResult().getOutput().getText());
            }
            long rssLoaded = rssBytes();
            long heapLoaded = usedHeapAfterGc();
            long tokensBefore = engineTokens.sum();

            Stats stats = new Stats();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            CountDownLatch done = new CountDownLatch(clients);
            long t0 = System.nanoTime();
            for (int c = 0; c < clients; c++) {
                SplittableRandom random = new SplittableRandom(seed * 1_000_003 + c);
                Thread client = new Thread(() -> {
                    try {
                        while (System.nanoTime() < deadline) {
                            oneRequest(model, random, expected, stats);
                        }
                    } finally {
                        done.countDown();
                    }
                }, "loadtest-client-" + c);
                client.setDaemon(true);
                client.start();
            }
            done.await(seconds + 120L, TimeUnit.SECONDS);
            double elapsed = (System.nanoTime() - t0) / 1e9;
            // Cancelled streams finish their current step on the engine's side: let them end before reading.
            long settle = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (engine.servingStatus().inFlight() > 0 && System.nanoTime() < settle) {
                Thread.sleep(10);
            }
            ServingStatus status = engine.servingStatus();
            long heapEnd = usedHeapAfterGc();
            long rssEnd = rssBytes();
            report(out, engine, stats, elapsed, engineTokens.sum() - tokensBefore, status, rssStart, rssLoaded,
                    rssEnd);
            out.printf(Locale.ROOT, "heap in use after GC: %d MiB with the models loaded, %d MiB at the end%n",
                    heapLoaded >> 20, heapEnd >> 20);
            out.flush();
            return stats.mismatches.sum() == 0 && status.inFlight() == 0 && status.kvCacheBytesReserved() == 0 ? 0 : 2;
        }
    }

    /** Statistics of the run, shared by the clients. */
    static final class Stats {
        final LongAdder completed = new LongAdder();
        final LongAdder disconnected = new LongAdder();
        final LongAdder mismatches = new LongAdder();
        final LongAdder completionTokens = new LongAdder();
        final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
        final List<Long> latenciesNanos = Collections.synchronizedList(new ArrayList<>());
        final List<Long> firstChunkNanos = Collections.synchronizedList(new ArrayList<>());
        final AtomicLong mismatchExample = new AtomicLong(-1);
    }

    private void oneRequest(SpeculaChatModel model, SplittableRandom random, Map<Integer, String> expected,
                            Stats stats) {
        int p = random.nextInt(PROMPTS.size());
        boolean disconnect = random.nextDouble() < disconnectFraction;
        Prompt prompt = new Prompt(PROMPTS.get(p), SpeculaChatOptions.builder().seed((long) p).build());
        long start = System.nanoTime();
        AtomicLong first = new AtomicLong();
        try {
            Flux<ChatResponse> stream = model.stream(prompt)
                .doOnNext(chunk -> first.compareAndSet(0, System.nanoTime() - start));
            if (disconnect) {
                // The client reads a chunk or two and goes away: take() cancels the stream upstream.
                stream.take(1 + random.nextInt(2)).blockLast(Duration.ofSeconds(120));
                stats.disconnected.increment();
                return;
            }
            StringBuilder text = new StringBuilder();
            ChatResponse last = null;
            for (ChatResponse chunk : stream.toIterable()) {
                text.append(chunk.getResult().getOutput().getText());
                last = chunk;
            }
            stats.latenciesNanos.add(System.nanoTime() - start);
            stats.firstChunkNanos.add(first.get());
            stats.completed.increment();
            if (last != null && last.getMetadata().getUsage() != null) {
                stats.completionTokens.add(last.getMetadata().getUsage().getCompletionTokens());
            }
            if (!text.toString().equals(expected.get(p))) {
                stats.mismatches.increment();
                stats.mismatchExample.compareAndSet(-1, p);
            }
        } catch (RuntimeException e) {
            String kind = kind(e);
            stats.errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
            if (kind.startsWith("busy:") && busyBackoffMs > 0) {
                // As a client should on 503: back off before retrying.
                try {
                    Thread.sleep(busyBackoffMs);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    static String kind(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EngineBusyException busy) {
                return "busy:" + busy.reason().name().toLowerCase(Locale.ROOT);
            }
            if (t instanceof SpeculaException s) {
                String m = String.valueOf(s.getMessage());
                return "specula:" + m.substring(0, Math.max(0, m.indexOf(':')));
            }
        }
        return e.getClass().getSimpleName();
    }

    private void report(PrintWriter out, SpeculaEngine engine, Stats stats, double elapsed, long engineTokens,
                        ServingStatus status, long rssStart, long rssLoaded, long rssEnd) {
        List<Long> lat = new ArrayList<>(stats.latenciesNanos);
        List<Long> ttft = new ArrayList<>(stats.firstChunkNanos);
        Collections.sort(lat);
        Collections.sort(ttft);
        out.printf(Locale.ROOT, "loadtest: target %s, drafter %s, %s kernel; %d clients for %d s, disconnect fraction "
                        + "%.2f, max tokens %d, busy back-off %d ms; engine: %d in flight, queue %d, queue timeout %d ms%n",
                engine.info().targetName(), engine.info().drafterName(), engine.info().kernel(), clients, seconds,
                disconnectFraction, maxTokens, busyBackoffMs, maxConcurrent, maxQueued, queueTimeoutMs);
        long errors = stats.errors.values().stream().mapToLong(LongAdder::sum).sum();
        out.printf(Locale.ROOT, "requests: %d completed, %d disconnected by the client, %d errors (%.1f s)%n",
                stats.completed.sum(), stats.disconnected.sum(), errors, elapsed);
        new TreeMap<>(stats.errors).forEach((kind, n) -> out.printf("  error %s: %d%n", kind, n.sum()));
        out.printf(Locale.ROOT, "latency (completed): p50 %.1f ms, p99 %.1f ms, max %.1f ms; first chunk p50 %.1f ms, "
                        + "p99 %.1f ms%n", pct(lat, 50), pct(lat, 99), pct(lat, 100), pct(ttft, 50), pct(ttft, 99));
        out.printf(Locale.ROOT, "tokens/s: %.1f in completed answers, %.1f generated by the engine (cancelled streams "
                + "included)%n", stats.completionTokens.sum() / elapsed, engineTokens / elapsed);
        out.printf(Locale.ROOT, "correctness: %d of %d completed answers equal the target-only greedy answer%s%n",
                stats.completed.sum() - stats.mismatches.sum(), stats.completed.sum(),
                stats.mismatches.sum() == 0 ? "" : " (first mismatch: prompt " + stats.mismatchExample.get() + ")");
        out.printf(Locale.ROOT, "engine after the run: %d in flight, %d queued, %d bytes of KV cache reserved; "
                        + "admitted %d, refused %d (queue full) + %d (queue timeout) + %d (KV budget), "
                        + "%d cancelled while queued%n", status.inFlight(), status.queued(),
                status.kvCacheBytesReserved(), status.admitted(), status.rejectedQueueFull(),
                status.rejectedQueueTimeout(), status.rejectedKvCacheBudget(), status.cancelledWhileQueued());
        out.printf(Locale.ROOT, "RSS: %d MiB at start, %d MiB with the models loaded, %d MiB at the end%n",
                rssStart >> 20, rssLoaded >> 20, rssEnd >> 20);
        out.flush();
    }

    static double pct(List<Long> sorted, int p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i))) / 1e6;
    }

    private void check(boolean ok, String message) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), message);
        }
    }
}
