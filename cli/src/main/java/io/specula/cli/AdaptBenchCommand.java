package io.specula.cli;

import io.specula.adaptive.AdaptiveConfig;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.SpeculaException;
import io.specula.engine.EngineConfig;
import io.specula.engine.ServingLimits;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code specula adapt-bench}: replays a drifting prompt stream (prompts cut from one text, then another, ...) through
 * two engines over the same models, one with the drafter as loaded (static) and one whose drafter adapts, and prints
 * acceptance and decoding speed per stream segment and adaptive drafter version, side by side. The adaptive engine's
 * updates run between requests, every {@code --update-every} requests (in a server they run in the background); their
 * time is reported apart, not in tokens/s; with {@code --background-share} the adaptive engine trains in its own
 * paced background thread instead, as a server does, and the tokens/s of both engines are comparable. Every adaptive
 * output is checked against the static one (both must be the target's).
 *
 * <p>{@code --target-update N:DIR} updates both engines' target ({@link SpeculaEngine#updateTarget}) before request
 * N: the static drafter then drafts for a target it was not distilled from, the adaptive one drops the older target's
 * examples and learns the new one. For each update the bench prints how much acceptance the update cost the adaptive
 * drafter and how much of it came back within {@code --recovery-requests} requests.
 */
@Command(name = "adapt-bench", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Static vs adaptive drafter on a drifting prompt stream: acceptance and tokens/s per drafter version.")
final class AdaptBenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--target", required = true, description = "Target model directory.")
    Path target;

    @Option(names = "--drafter", required = true, description = "Drafter model directory (a plain Llama model).")
    Path drafter;

    @Option(names = "--segment", required = true, description = "FILE:N — N prompts cut from the text FILE; repeat"
            + " the option for the next segments of the stream, in order.")
    List<String> segments;

    @Option(names = "--words", defaultValue = "8", description = "Words per prompt (default ${DEFAULT-VALUE}).")
    int words;

    @Option(names = "--max-tokens", defaultValue = "32", description = "Tokens per request (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--draft-tokens", defaultValue = "4", description = "Draft length, fixed policy (default ${DEFAULT-VALUE}).")
    int draftTokens;

    @Option(names = "--update-every", defaultValue = "8", description = "Requests between adaptive updates; with"
            + " --background-share, the new training windows the trainer waits for (default ${DEFAULT-VALUE}).")
    int updateEvery;

    @Option(names = "--steps-per-update", defaultValue = "30", description = "Training steps per update (default ${DEFAULT-VALUE}).")
    int stepsPerUpdate;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Learning rate (default ${DEFAULT-VALUE}).")
    float lr;

    @Option(names = "--batch-size", defaultValue = "8", description = "Examples per step (default ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--window", defaultValue = "64", description = "Training window in tokens (default ${DEFAULT-VALUE}).")
    int window;

    @Option(names = "--held-out", defaultValue = "0.2", description = "Share of requests held out to judge versions (default ${DEFAULT-VALUE}).")
    double heldOut;

    @Option(names = "--min-held-out", defaultValue = "48", description = "Held-out positions needed to judge (default ${DEFAULT-VALUE}).")
    int minHeldOut;

    @Option(names = "--seed", defaultValue = "5", description = "Seeds the trainer's batches (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--svg", description = "Also write a chart of acceptance along the stream, static vs adaptive.")
    Path svg;

    @Option(names = "--target-update", description = "N:DIR — before request N (0-based), both engines switch to the"
            + " target in DIR (same tokenizer); repeat for later updates.")
    List<String> targetUpdates = new ArrayList<>();

    @Option(names = "--background-share", description = "Train in the adaptive engine's own background thread, paced"
            + " to this share of a core (as a server does), instead of between requests.")
    Double backgroundShare;

    @Option(names = "--update-interval", defaultValue = "PT2S", description = "With --background-share: how often the"
            + " trainer wakes (ISO-8601, default ${DEFAULT-VALUE}).")
    Duration updateInterval;

    @Option(names = "--recovery-window", defaultValue = "24", description = "Requests over which acceptance is"
            + " measured before an update, just after it and at the recovery point (default ${DEFAULT-VALUE}).")
    int recoveryWindow;

    @Option(names = "--recovery-requests", defaultValue = "200", description = "Requests after an update by which"
            + " the recovery is measured (default ${DEFAULT-VALUE}).")
    int recoveryRequests;

    /** One request of the stream, through both engines. */
    record Row(int index, String segment, int target, int version, long staticDrafted, long staticAccepted,
               double staticTps, long adaptiveDrafted, long adaptiveAccepted, double adaptiveTps) {
    }

    @Override
    public Integer call() {
        System.setProperty("ai.djl.pytorch.num_threads", System.getProperty("ai.djl.pytorch.num_threads", "1"));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        PrintWriter out = spec.commandLine().getOut();
        List<String[]> stream = new ArrayList<>();  // {segment, prompt}
        for (String s : segments) {
            int colon = s.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("--segment " + s + ": expected FILE:N");
            }
            Path file = Path.of(s.substring(0, colon));
            int n = Integer.parseInt(s.substring(colon + 1));
            String name = file.getFileName().toString().replaceFirst("\\.txt$", "");
            for (String p : PromptFiles.cut(file, n, words)) {
                stream.add(new String[] {name, p});
            }
        }
        Map<Integer, Path> updates = new java.util.TreeMap<>();
        for (String u : targetUpdates) {
            int colon = u.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("--target-update " + u + ": expected N:DIR");
            }
            updates.put(Integer.parseInt(u.substring(0, colon)), Path.of(u.substring(colon + 1)));
        }
        boolean background = backgroundShare != null;
        AdaptiveConfig config = AdaptiveConfig.defaults()
                .withSchedule(background ? updateInterval : Duration.ofHours(1), background ? updateEvery : 1,
                        background ? backgroundShare : 1.0)
                .withTraining(batchSize, lr, stepsPerUpdate)
                .withBuffer(4096, heldOut, minHeldOut, 16, window, AdaptiveConfig.Loss.KL)
                .withSeed(seed);
        SpeculationSettings fixed = new SpeculationSettings(true, draftTokens, DraftPolicy.FIXED);
        List<Row> rows = new ArrayList<>();
        long mismatches = 0;
        double trainingSeconds = 0;
        // On SIGTERM the engines close (the adaptive update stops at its next training step) before the JVM exits.
        ServingLimits limits = ServingLimits.DEFAULT.withShutdownGracePeriod(Duration.ZERO);
        try (SpeculaEngine still = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()).withLimits(limits));
             SpeculaEngine adapting = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()).withLimits(limits),
                     config);
             StopOnShutdown guard = StopOnShutdown.install("adapt-bench", () -> {
                 adapting.close();
                 still.close();
             })) {
            AdaptiveDrafter adaptive = adapting.adaptive().orElseThrow();
            // Warm-up (JIT) on the static engine only, so the adaptive one learns from the stream alone.
            GenerationRequest warm = GenerationRequest.of(still.tokenizer().encode(stream.get(0)[1]), maxTokens,
                    SamplingParams.GREEDY);
            for (int i = 0; i < 3; i++) {
                still.generate(warm, fixed, null);
            }
            for (int i = 0; i < stream.size() && !guard.requested(); i++) {
                Path update = updates.get(i);
                if (update != null) {
                    long t0 = System.nanoTime();
                    still.updateTarget(update);
                    int v = adapting.updateTarget(update);
                    out.printf(Locale.ROOT, "before request %3d: target version %d (%s), loaded in %.1f s per engine%n",
                            i, v, update, (System.nanoTime() - t0) / 2e9);
                    out.flush();
                }
                GenerationRequest r = GenerationRequest.of(still.tokenizer().encode(stream.get(i)[1]), maxTokens,
                        SamplingParams.GREEDY);
                int version = adaptive.version();
                if (background && !rows.isEmpty() && version != rows.get(rows.size() - 1).version()) {
                    var v = adaptive.status().versions().get(0);
                    out.printf(Locale.ROOT, "before request %3d: drafter version %d serves (held-out %.3f; %d steps,"
                            + " %d accepted, %d rejected so far)%n", i, version, v.heldOutMatchRate(),
                            adaptive.trainingSteps(), adaptive.updatesAccepted(), adaptive.updatesRejected());
                    out.flush();
                }
                GenerationResult a;
                GenerationResult b;
                try {
                    a = still.generate(r, fixed, null);
                    b = adapting.generate(r, fixed, null);
                }
                catch (SpeculaException e) {
                    if (guard.requested()) {
                        break;
                    }
                    throw e;
                }
                if (!Arrays.equals(a.tokenIds(), b.tokenIds())) {
                    mismatches++;
                }
                rows.add(new Row(i, stream.get(i)[0], adapting.targetVersion(), version, a.stats().draftedTokens(), a.stats().acceptedTokens(),
                        a.stats().decodeTokensPerSecond(), b.stats().draftedTokens(), b.stats().acceptedTokens(),
                        b.stats().decodeTokensPerSecond()));
                if (!background && (i + 1) % updateEvery == 0 && i + 1 < stream.size()) {
                    long t0 = System.nanoTime();
                    AdaptiveDrafter.UpdateResult u = adaptive.update();
                    double sec = (System.nanoTime() - t0) / 1e9;
                    trainingSeconds += sec;
                    out.printf(Locale.ROOT, "after request %3d: update %-8s -> version %d (held-out %.3f -> %.3f, loss"
                                    + " %.3f, %.1f s)%s%n", i + 1, u.outcome().name().toLowerCase(Locale.ROOT),
                            u.version(), u.servingScore(), u.candidateScore(), u.loss(), sec,
                            u.message() == null ? "" : " " + u.message());
                    out.flush();
                }
            }
            if (background) {
                var s = adaptive.status();
                out.printf(Locale.ROOT, "%ntarget %s, drafter %s, %d requests x %d tokens, fixed γ=%d, background"
                                + " trainer at %.2f of a core, waking every %s when %d new examples arrived (%d steps,"
                                + " lr %s): %d steps, %d versions accepted, %d rejected, %d failures%n",
                        still.info().targetName(), still.info().drafterName(), stream.size(), maxTokens, draftTokens,
                        backgroundShare, updateInterval, updateEvery, stepsPerUpdate, lr, s.trainingSteps(),
                        s.updatesAccepted(), s.updatesRejected(), s.failures());
            } else {
                out.printf(Locale.ROOT, "%ntarget %s, drafter %s, %d requests x %d tokens, fixed γ=%d, update every %d"
                                + " requests (%d steps, lr %s); training took %.1f s in all%n",
                        still.info().targetName(), still.info().drafterName(), stream.size(), maxTokens, draftTokens,
                        updateEvery, stepsPerUpdate, lr, trainingSeconds);
            }
        }
        report(out, rows);
        recovery(out, rows, recoveryWindow, recoveryRequests);
        out.printf(Locale.ROOT, "outputs differing between static and adaptive: %d (must be 0: both are the target's)%n",
                mismatches);
        out.flush();
        if (svg != null) {
            writeSvg(svg, rows);
            out.println("wrote " + svg);
            out.flush();
        }
        return mismatches == 0 ? 0 : 1;
    }

    static void report(PrintWriter out, List<Row> rows) {
        out.printf("%-22s %6s %7s %8s | %10s %10s | %10s %10s%n", "segment", "target", "version", "requests",
                "static α", "adaptive α", "static t/s", "adapt. t/s");
        Map<String, List<Row>> groups = new LinkedHashMap<>();
        for (Row r : rows) {
            groups.computeIfAbsent(r.segment() + "\u0000" + r.target() + "\u0000" + r.version(),
                    k -> new ArrayList<>()).add(r);
        }
        for (List<Row> g : groups.values()) {
            line(out, g.get(0).segment(), Integer.toString(g.get(0).target()), Integer.toString(g.get(0).version()), g);
        }
        Map<String, List<Row>> bySegment = new LinkedHashMap<>();
        for (Row r : rows) {
            bySegment.computeIfAbsent(r.segment() + "\u0000" + r.target(), k -> new ArrayList<>()).add(r);
        }
        for (List<Row> g : bySegment.values()) {
            line(out, g.get(0).segment(), Integer.toString(g.get(0).target()), "all", g);
        }
        line(out, "all", "", "", rows);
        out.println("α = accepted / drafted tokens; t/s = decoding tokens per second (median of the requests).");
    }

    /**
     * Per target update or segment change at request N: the adaptive drafter's α over the {@code window} requests before N, over the
     * first {@code window} after it (what the update cost), and over the {@code window} requests ending
     * {@code horizon} requests after it; recovered = (α at the horizon − α just after) / (α before − α just after).
     * The static drafter's α over the same requests is shown beside.
     */
    static void recovery(PrintWriter out, List<Row> rows, int window, int horizon) {
        for (int n = 1; n < rows.size(); n++) {
            boolean update = rows.get(n).target() != rows.get(n - 1).target();
            boolean drift = !rows.get(n).segment().equals(rows.get(n - 1).segment());
            if (!update && !drift) {
                continue;
            }
            int end = Math.min(rows.size(), n + horizon);
            List<Row> before = rows.subList(Math.max(0, n - window), n);
            List<Row> after = rows.subList(n, Math.min(end, n + window));
            List<Row> late = rows.subList(Math.max(n, end - window), end);
            double b = alpha(before, false), a = alpha(after, false), l = alpha(late, false);
            out.printf(Locale.ROOT, "%s before request %d: adaptive α %.3f before, %.3f just after, %.3f at"
                            + " requests %d-%d: %s; static α %.3f, %.3f, %.3f%n",
                    update && drift ? "target update and new segment" : update ? "target update" : "new segment", n,
                    b, a, l, end - late.size(), end - 1,
                    b > a ? String.format(Locale.ROOT, "recovered %.0f%% of the %.3f the update cost", 100 * (l - a)
                            / (b - a), b - a) : "the update cost nothing", alpha(before, true), alpha(after, true),
                    alpha(late, true));
        }
    }

    private static double alpha(List<Row> rows, boolean still) {
        long d = 0, a = 0;
        for (Row r : rows) {
            d += still ? r.staticDrafted() : r.adaptiveDrafted();
            a += still ? r.staticAccepted() : r.adaptiveAccepted();
        }
        return d == 0 ? 0 : (double) a / d;
    }

    private static void line(PrintWriter out, String segment, String target, String version, List<Row> g) {
        long sd = 0, sa = 0, ad = 0, aa = 0;
        for (Row r : g) {
            sd += r.staticDrafted();
            sa += r.staticAccepted();
            ad += r.adaptiveDrafted();
            aa += r.adaptiveAccepted();
        }
        out.printf(Locale.ROOT, "%-22s %6s %7s %8d | %10.3f %10.3f | %10.0f %10.0f%n", segment, target, version,
                g.size(),
                sd == 0 ? 0 : (double) sa / sd, ad == 0 ? 0 : (double) aa / ad,
                median(g.stream().mapToDouble(Row::staticTps).toArray()),
                median(g.stream().mapToDouble(Row::adaptiveTps).toArray()));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length == 0 ? 0 : s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** Acceptance per block of 8 requests along the stream: two lines, segment boundaries and version changes. */
    static void writeSvg(Path file, List<Row> rows) {
        int block = 8;
        int w = 720, h = 320, left = 50, right = 20, top = 30, bottom = 50;
        int blocks = (rows.size() + block - 1) / block;
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
                + " font-family=\"sans-serif\" font-size=\"12\">%n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>%n", w, h));
        double pw = w - left - right, ph = h - top - bottom;
        for (int t = 0; t <= 5; t++) {
            double y = top + ph - ph * t / 5;
            s.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>%n", left, w - right, y, y, left - 6,
                    y + 4, t / 5.0));
        }
        String[] colors = {"#888", "#d62728"};
        String[] names = {"static drafter", "adaptive drafter"};
        for (int line = 0; line < 2; line++) {
            StringBuilder pts = new StringBuilder();
            for (int b = 0; b < blocks; b++) {
                long d = 0, a = 0;
                for (Row r : rows.subList(b * block, Math.min(rows.size(), (b + 1) * block))) {
                    d += line == 0 ? r.staticDrafted() : r.adaptiveDrafted();
                    a += line == 0 ? r.staticAccepted() : r.adaptiveAccepted();
                }
                double x = left + pw * (b + 0.5) / blocks;
                double y = top + ph - ph * (d == 0 ? 0 : (double) a / d);
                pts.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            s.append(String.format(Locale.ROOT, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>%n",
                    colors[line], pts.toString().strip()));
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s</text>%n", left + 10 + 160 * line,
                    top - 10, colors[line], names[line]));
        }
        for (int i = 1; i < rows.size(); i++) {
            boolean segment = !rows.get(i).segment().equals(rows.get(i - 1).segment());
            boolean version = rows.get(i).version() != rows.get(i - 1).version();
            if (rows.get(i).target() != rows.get(i - 1).target()) {
                double x = left + pw * i / rows.size();
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#2ca02c\""
                        + " stroke-width=\"2\"/><text x=\"%.1f\" y=\"%d\" fill=\"#2ca02c\" font-size=\"10\">target v%d"
                        + "</text>%n", x, x, top, top + ph, x + 2, top + 12, rows.get(i).target()));
            }
            if (segment || version) {
                double x = left + pw * i / rows.size();
                s.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"%s\""
                        + " stroke-dasharray=\"%s\"/>%n", x, x, top, top + ph, segment ? "#1f77b4" : "#d62728",
                        segment ? "6,3" : "2,3"));
                s.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\" font-size=\"10\">%s</text>%n",
                        x + 2, top + ph + (segment ? 28 : 14), segment ? "#1f77b4" : "#d62728",
                        segment ? rows.get(i).segment() : "v" + rows.get(i).version()));
            }
        }
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", left, h - 6,
                "acceptance (accepted / drafted) per block of " + block + " requests along the stream; dashed: segment"
                        + " start (blue), new drafter version (red); solid green: target update"));
        s.append("</svg>\n");
        try {
            if (file.toAbsolutePath().getParent() != null) {
                Files.createDirectories(file.toAbsolutePath().getParent());
            }
            Files.writeString(file, s.toString(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }
}
