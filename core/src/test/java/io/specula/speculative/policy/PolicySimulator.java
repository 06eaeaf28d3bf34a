package io.specula.speculative.policy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Replays recorded step timings ({@link RecordStepTimings}) through a draft policy, the way
 * {@link io.specula.speculative.SpeculativeGenerator} drives it: per step the limit, the drafter's backlog (the prompt
 * before its first draft, the plain steps since its last one, 1 or 2 in steady state) and the tokens left; each draft
 * costs a recorded draft of that length plus the recorded catch-up of that backlog, each target pass a recorded pass of
 * its width, and draft position j is accepted with the recorded probability given j−1 were. Plain decoding of the same
 * request costs recorded 1-wide passes. Deterministic for a seed.
 */
final class PolicySimulator {

    /** Recorded costs and acceptance of one model pair. */
    record Timings(String name, long[][] verifyByWidth, long[][] draftByLength, int[] backlogs, long[][] draftByBacklog,
                   double[] acceptance) {

        static Timings load(String resource) {
            Map<Integer, long[]> verify = new HashMap<>();
            Map<Integer, long[]> byLength = new HashMap<>();
            Map<Integer, long[]> byBacklog = new HashMap<>();
            double[] acceptance = null;
            for (String[] p : fields(resource)) {
                switch (p[0]) {
                    case "verify" -> verify.put(Integer.parseInt(p[1]), longs(p, 2));
                    case "draft" -> {
                        int g = Integer.parseInt(p[1]);
                        int b = Integer.parseInt(p[2]);
                        // "draft G 1" lines are drafts by length; then "draft 1 B" lines are catch-ups by backlog
                        // (B = 1 again as their base).
                        if (b == 1 && !byLength.containsKey(g)) {
                            byLength.put(g, longs(p, 3));
                        } else {
                            byBacklog.put(b, longs(p, 3));
                        }
                    }
                    case "acceptance" -> acceptance = Arrays.stream(p).skip(1).mapToDouble(Double::parseDouble)
                            .toArray();
                    default -> { }
                }
            }
            int[] backlogs = byBacklog.keySet().stream().mapToInt(Integer::intValue).sorted().toArray();
            long[][] catchUps = new long[backlogs.length][];
            for (int i = 0; i < backlogs.length; i++) {
                catchUps[i] = byBacklog.get(backlogs[i]);
            }
            return new Timings(resource, table(verify), table(byLength), backlogs, catchUps, acceptance);
        }

        private static long[] longs(String[] p, int from) {
            return Arrays.stream(p).skip(from).mapToLong(Long::parseLong).toArray();
        }

        private static long[][] table(Map<Integer, long[]> byKey) {
            int max = byKey.keySet().stream().mapToInt(Integer::intValue).max().orElse(0);
            long[][] t = new long[max][];
            for (int k = 1; k <= max; k++) {
                t[k - 1] = byKey.get(k);
            }
            return t;
        }

        /** A recorded pass of this width (widths past the recorded ones: the widest, scaled by the median slope). */
        double verify(int width, SplittableRandom r) {
            int w = Math.min(width, verifyByWidth.length);
            double sample = pick(verifyByWidth[w - 1], r);
            if (width > w) {
                double slope = (median(verifyByWidth[w - 1]) - median(verifyByWidth[0])) / (w - 1);
                sample += slope * (width - w);
            }
            return sample;
        }

        /** A recorded draft of this length from a caught-up drafter, plus the recorded extra of this backlog. */
        double draft(int tokens, int backlog, SplittableRandom r) {
            int g = Math.min(tokens, draftByLength.length);
            double sample = pick(draftByLength[g - 1], r);
            if (tokens > g) {
                sample *= (double) tokens / g;
            }
            return sample + catchUpExtra(backlog);
        }

        /** Median cost of a backlog beyond the steady state's, interpolated between the recorded backlogs. */
        double catchUpExtra(int backlog) {
            double base = median(draftByBacklog[0]);
            if (backlog <= backlogs[0]) {
                return 0;
            }
            for (int i = 1; i < backlogs.length; i++) {
                if (backlog <= backlogs[i]) {
                    double lo = median(draftByBacklog[i - 1]);
                    double hi = median(draftByBacklog[i]);
                    double t = (double) (backlog - backlogs[i - 1]) / (backlogs[i] - backlogs[i - 1]);
                    return Math.max(0, lo + t * (hi - lo) - base);
                }
            }
            int n = backlogs.length;
            double slope = (median(draftByBacklog[n - 1]) - median(draftByBacklog[n - 2]))
                    / (backlogs[n - 1] - backlogs[n - 2]);
            return Math.max(0, median(draftByBacklog[n - 1]) - base + slope * (backlog - backlogs[n - 1]));
        }

        double acceptance(int position) {
            return position < acceptance.length ? acceptance[position] : acceptance[acceptance.length - 1];
        }

        private static double pick(long[] samples, SplittableRandom r) {
            return samples[r.nextInt(samples.length)];
        }

        static double median(long[] samples) {
            long[] s = samples.clone();
            Arrays.sort(s);
            return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2.0;
        }
    }

    /**
     * One prompt's greedy text as {@link RecordDraftRuns} recorded it: {@code runs[k − 1]} is how many tokens the
     * drafter gets right when it drafts after output token k, so a draft of γ there is accepted for min(γ, run) tokens.
     */
    record Text(int promptTokens, int[] runs) {

        /** Tokens of the recorded output (its first comes from the prompt's pass). */
        int tokens() {
            return runs.length + 1;
        }

        static List<Text> load(String resource) {
            List<Text> texts = new ArrayList<>();
            for (String[] p : fields(resource)) {
                if (p[0].equals("request")) {
                    texts.add(new Text(Integer.parseInt(p[1]),
                            Arrays.stream(p).skip(2).mapToInt(Integer::parseInt).toArray()));
                }
            }
            return texts;
        }
    }

    /** The whitespace-separated fields of each line of a recorded resource under /policy. */
    static List<String[]> fields(String resource) {
        List<String[]> lines = new ArrayList<>();
        try (InputStream in = PolicySimulator.class.getResourceAsStream("/policy/" + resource)) {
            if (in == null) {
                throw new IllegalArgumentException("no resource /policy/" + resource);
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            String line;
            while ((line = reader.readLine()) != null) {
                lines.add(line.trim().split("\\s+"));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return lines;
    }

    /** One simulated request: its time, its plain time, its tokens and what the policy chose each step. */
    record Request(double nanos, double plainNanos, int tokens, int[] chosen) {

        double speedup() {
            return plainNanos / nanos;
        }

        /** Share of steps that drafted (probes included). */
        double draftingShare() {
            return chosen.length == 0 ? 0 : Arrays.stream(chosen).filter(g -> g > 0).count() / (double) chosen.length;
        }
    }

    private final Timings timings;
    private final SplittableRandom random;

    /** Stalls of a loaded machine: a timed operation takes {@link #stallFactor} times its cost with this probability. */
    private double stallProbability;
    private double stallFactor = 1;
    private final SplittableRandom stalls;

    PolicySimulator(Timings timings, long seed) {
        this.timings = timings;
        this.random = new SplittableRandom(seed);
        this.stalls = new SplittableRandom(seed ^ 0x5DEECE66DL);
    }

    /**
     * Adds the noise of a shared machine: each timed operation (a target pass, a draft, in plain decoding too) is
     * stretched {@code factor} times with probability {@code probability}, as when another process holds the core for
     * a while. The recorded timings are CPU time and have no such noise; wall-clock timings on a loaded machine do.
     */
    PolicySimulator withStalls(double probability, double factor) {
        this.stallProbability = probability;
        this.stallFactor = factor;
        return this;
    }

    private double stalled(double nanos) {
        return stallProbability > 0 && stalls.nextDouble() < stallProbability ? nanos * stallFactor : nanos;
    }

    /** Runs one request of {@code maxTokens} output tokens after a prompt of {@code promptTokens}. */
    Request run(DraftLengthPolicy policy, int promptTokens, int maxTokens) {
        return run(policy, promptTokens, maxTokens, null);
    }

    /** Runs one recorded greedy text: its drafts are accepted as far as the drafter's recorded runs go. */
    Request run(DraftLengthPolicy policy, Text text) {
        return run(policy, text.promptTokens(), text.tokens(), text);
    }

    private Request run(DraftLengthPolicy policy, int promptTokens, int maxTokens, Text text) {
        int generated = 1;           // the first token comes from the prompt's pass, in both modes
        int sequence = promptTokens + 1;
        int drafterSeen = 0;         // tokens in the drafter's cache: nothing before its first draft
        double nanos = 0;
        double plainNanos = 0;
        List<Integer> chosen = new ArrayList<>();
        for (int i = 1; i < maxTokens; i++) {
            plainNanos += stalled(timings.verify(1, random));
        }
        while (generated < maxTokens) {
            int remaining = maxTokens - generated;
            int limit = Math.max(0, Math.min(policy.maxDraftTokens(), remaining - 1));
            int backlog = sequence - drafterSeen;
            int gamma = policy.nextDraftLength(new StepContext(limit, backlog, remaining));
            chosen.add(gamma);
            double draft = 0;
            int accepted = 0;
            if (gamma > 0) {
                draft = stalled(timings.draft(gamma, backlog, random));
                if (text != null) {
                    accepted = Math.min(gamma, text.runs()[generated - 1]);
                } else {
                    while (accepted < gamma && random.nextDouble() < timings.acceptance(accepted)) {
                        accepted++;
                    }
                }
            }
            double verify = stalled(timings.verify(gamma + 1, random));
            policy.observe(new StepOutcome(gamma, gamma, accepted, gamma > 0 ? backlog : 0, Math.round(draft),
                    Math.round(verify)));
            nanos += draft + verify;
            int emitted = Math.min(accepted + 1, maxTokens - generated);
            if (gamma > 0) {
                // As ModelDrafter: the cache holds the sequence and the accepted drafts, never the last draft.
                drafterSeen = sequence + Math.min(accepted, gamma - 1);
            }
            sequence += emitted;
            generated += emitted;
        }
        policy.finish(generated);
        return new Request(nanos, plainNanos, generated, chosen.stream().mapToInt(Integer::intValue).toArray());
    }

    /** Runs {@code count} requests, each with a fresh policy; their total speed-up over plain decoding. */
    Stream runMany(Supplier<DraftLengthPolicy> policies, int count, int promptTokens, int maxTokens) {
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            requests.add(run(policies.get(), promptTokens, maxTokens));
        }
        return new Stream(requests);
    }

    /** Runs the recorded texts one after the other, {@code repeat} times over, each with a policy of its own. */
    Stream runTexts(Supplier<DraftLengthPolicy> policies, List<Text> texts, int repeat) {
        List<Request> requests = new ArrayList<>();
        for (int r = 0; r < repeat; r++) {
            for (Text t : texts) {
                requests.add(run(policies.get(), t));
            }
        }
        return new Stream(requests);
    }

    /** Requests run one after the other. */
    record Stream(List<Request> requests) {

        double speedup() {
            return requests.stream().mapToDouble(Request::plainNanos).sum()
                    / requests.stream().mapToDouble(Request::nanos).sum();
        }

        /** Every step's choice, in order, across the requests. */
        int[] choices() {
            return requests.stream().flatMapToInt(r -> Arrays.stream(r.chosen())).toArray();
        }
    }

    /**
     * The first step from which a window of {@code window} steps drafts in at least {@code share} of its steps, or -1:
     * when the policy is back to speculating.
     */
    static int recoveredAt(int[] choices, int window, double share) {
        for (int start = 0; start + window <= choices.length; start++) {
            int drafting = 0;
            for (int i = start; i < start + window; i++) {
                drafting += choices[i] > 0 ? 1 : 0;
            }
            if (drafting >= share * window) {
                return start;
            }
        }
        return -1;
    }
}
