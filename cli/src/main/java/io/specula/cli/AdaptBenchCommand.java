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
 * paced background thread instead, as a server does (both engines share the JVM, so the trainer slows both alike: the
 * tokens/s columns compare the drafters, not the trainer's cost; {@code --engines} measures that). Every adaptive
 * output is checked against the static one (both must be the target's).
 *
 * <p>{@code --target-update N:DIR} updates both engines' target ({@link SpeculaEngine#updateTarget}) before request
 * N: the static drafter then drafts for a target it was not distilled from, the adaptive one drops the older target's
 * examples and learns the new one. For each update the bench prints how much acceptance the update cost the adaptive
 * drafter and how much of it came back within {@code --recovery-requests} requests. {@code --shuffle} samples each
 * segment in a random order, so that the windows compared are alike; {@code --engines static|adaptive} runs one engine
 * alone, so that separate runs measure what the background trainer costs serving.
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

    @Option(names = "--shuffle", description = "Shuffle the prompts within each segment with this seed (default: the"
            + " text's order), so that every window of a segment samples its whole text alike: in the text's order a"
            + " window covers one passage, and windows compared for the recovery differ by passage, not by drafter.")
    Long shuffle;

    @Option(names = "--engines", defaultValue = "both", description = "both (side by side, outputs compared), static or"
            + " adaptive: one engine alone, so that separate runs measure what the background trainer costs serving"
            + " (default ${DEFAULT-VALUE}).")
    String engines;

    @Option(names = "--pause-blocks", description = "With --background-share: pause the trainer in every other block"
            + " of this many requests (training first) and compare the adaptive engine's tokens/s in the two kinds of"
            + " block: the trainer's cost on serving, measured in one JVM, alternating.")
    Integer pauseBlocks;

    @Option(names = "--recovery-window", defaultValue = "48", description = "Requests over which acceptance is"
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
            List<String> prompts = new ArrayList<>(PromptFiles.cut(file, n, words));
            if (shuffle != null) {
                java.util.Collections.shuffle(prompts, new java.util.Random(shuffle));
            }
            for (String p : prompts) {
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
        boolean runStatic = !engines.equals("adaptive");
        boolean runAdaptive = !engines.equals("static");
        if (!engines.matches("both|static|adaptive")) {
            throw new IllegalArgumentException("--engines " + engines + ": expected both, static or adaptive");
        }
        // On SIGTERM the engines close (the adaptive update stops at its next training step) before the JVM exits.
        ServingLimits limits = ServingLimits.DEFAULT.withShutdownGracePeriod(Duration.ZERO);
        EngineConfig engineConfig = EngineConfig.of(target, drafter.toString()).withLimits(limits);
        // A static engine always loads, for the warm-up (JIT) at least: the adaptive one learns from the stream alone.
        try (SpeculaEngine still = SpeculaEngine.load(engineConfig);
             SpeculaEngine adapting = runAdaptive ? SpeculaEngine.load(engineConfig, config) : null;
             StopOnShutdown guard = StopOnShutdown.install("adapt-bench", () -> {
                 if (adapting != null) {
                     adapting.close();
                 }
                 still.close();
             })) {
            AdaptiveDrafter adaptive = adapting == null ? null : adapting.adaptive().orElseThrow();
            GenerationRequest warm = GenerationRequest.of(still.tokenizer().encode(stream.get(0)[1]), maxTokens,
                    SamplingParams.GREEDY);
            for (int i = 0; i < 3; i++) {
                still.generate(warm, fixed, null);
            }
            for (int i = 0; i < stream.size() && !guard.requested(); i++) {
                Path update = updates.get(i);
                if (update != null) {
                    long t0 = System.nanoTime();
                    int v = 0;
                    if (runStatic) {
                        v = still.updateTarget(update);
                    }
                    if (adapting != null) {
                        v = adapting.updateTarget(update);
                    }
                    out.printf(Locale.ROOT, "before request %3d: target version %d (%s), loaded in %.1f s per engine%n",
                            i, v, update, (System.nanoTime() - t0) / 1e9 / (runStatic && runAdaptive ? 2 : 1));
                    out.flush();
                }
                GenerationRequest r = GenerationRequest.of(still.tokenizer().encode(stream.get(i)[1]), maxTokens,
                        SamplingParams.GREEDY);
                if (adaptive != null && background && pauseBlocks != null) {
                    if ((i / pauseBlocks) % 2 == 1) {
                        adaptive.pause();
                    } else {
                        adaptive.resume();
                    }
                }
                int version = adaptive == null ? 0 : adaptive.version();
                if (background && adaptive != null && !rows.isEmpty()
                        && version != rows.get(rows.size() - 1).version()) {
                    var v = adaptive.status().versions().get(0);
                    out.printf(Locale.ROOT, "before request %3d: drafter version %d serves (held-out %.3f; %d steps,"
                            + " %d accepted, %d rejected so far)%n", i, version, v.heldOutMatchRate(),
                            adaptive.trainingSteps(), adaptive.updatesAccepted(), adaptive.updatesRejected());
                    out.flush();
                }
                GenerationResult a = null;
                GenerationResult b = null;
                try {
                    if (runStatic) {
                        a = still.generate(r, fixed, null);
                    }
                    if (adapting != null) {
                        b = adapting.generate(r, fixed, null);
                    }
                }
                catch (SpeculaException e) {
                    if (guard.requested()) {
                        break;
                    }
                    throw e;
                }
                if (a != null && b != null && !Arrays.equals(a.tokenIds(), b.tokenIds())) {
                    mismatches++;
                }
                int targetVersion = adapting != null ? adapting.targetVersion() : still.targetVersion();
                rows.add(new Row(i, stream.get(i)[0], targetVersion, version,
                        a == null ? 0 : a.stats().draftedTokens(), a == null ? 0 : a.stats().acceptedTokens(),
                        a == null ? 0 : a.stats().decodeTokensPerSecond(),
                        b == null ? 0 : b.stats().draftedTokens(), b == null ? 0 : b.stats().acceptedTokens(),
                        b == null ? 0 : b.stats().decodeTokensPerSecond()));
                if (adaptive != null && !background && (i + 1) % updateEvery == 0 && i + 1 < stream.size()) {
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
            String engineNote = runStatic && runAdaptive ? "" : " (" + engines + " engine alone)";
            if (adaptive == null) {
                out.printf(Locale.ROOT, "%ntarget %s, drafter %s, %d requests x %d tokens, fixed γ=%d, static engine"
                                + " alone%n", still.info().targetName(), still.info().drafterName(), stream.size(),
                        maxTokens, draftTokens);
            } else if (background) {
                var s = adaptive.status();
                out.printf(Locale.ROOT, "%ntarget %s, drafter %s, %d requests x %d tokens, fixed γ=%d, background"
                                + " trainer at %.2f of a core, waking every %s when %d new examples arrived (%d steps,"
                                + " lr %s): %d steps, %d versions accepted, %d rejected, %d failures%s%n",
                        adapting.info().targetName(), adapting.info().drafterName(), stream.size(), maxTokens,
                        draftTokens, backgroundShare, updateInterval, updateEvery, stepsPerUpdate, lr,
                        s.trainingSteps(), s.updatesAccepted(), s.updatesRejected(), s.failures(), engineNote);
            } else {
                out.printf(Locale.ROOT, "%ntarget %s, drafter %s, %d requests x %d tokens, fixed γ=%d, update every %d"
                                + " requests (%d steps, lr %s); training took %.1f s in all%s%n",
                        adapting.info().targetName(), adapting.info().drafterName(), stream.size(), maxTokens,
                        draftTokens, updateEvery, stepsPerUpdate, lr, trainingSeconds, engineNote);
            }
        }
        AdaptBenchReport.report(out, rows);
        if (pauseBlocks != null && background && runAdaptive) {
            AdaptBenchReport.trainerCost(out, rows, pauseBlocks);
        }
        if (runAdaptive) {
            AdaptBenchReport.recovery(out, rows, recoveryWindow, recoveryRequests);
        }
        if (runStatic && runAdaptive) {
            out.printf(Locale.ROOT, "outputs differing between static and adaptive: %d (must be 0: both are the"
                    + " target's)%n", mismatches);
        } else {
            out.printf(Locale.ROOT, "outputs not compared: %s engine alone%n", engines);
        }
        out.flush();
        if (svg != null) {
            AdaptBenchReport.writeSvg(svg, rows);
            out.println("wrote " + svg);
            out.flush();
        }
        return mismatches == 0 ? 0 : 1;
    }
}
