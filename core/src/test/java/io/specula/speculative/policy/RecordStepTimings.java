package io.specula.speculative.policy;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.generate.DecodingStats;
import io.specula.generate.GenerationRequest;
import io.specula.generate.LogitsProcessor;
import io.specula.generate.SamplingParams;
import io.specula.generate.TokenCounts;
import io.specula.generate.TokenSampler;
import io.specula.model.KvCache;
import io.specula.speculative.SpeculativeGenerator;
import io.specula.speculative.drafter.DraftContext;
import io.specula.speculative.drafter.DraftGate;
import io.specula.speculative.drafter.DraftSession;
import io.specula.speculative.drafter.ModelDrafter;
import io.specula.speculative.drafter.TokenSequence;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Records what a model pair's decoding steps cost on this machine, for the policy simulations
 * ({@link PolicySimulationTest}, which replay the recorded samples):
 * {@code RecordStepTimings TARGET DRAFTER PROMPTS OUT [cpu]}. With {@code cpu} the costs are the thread's CPU time
 * (run it with {@code -XX:ActiveProcessorCount=1}, so the kernels run on the calling thread alone): the cost of the
 * work itself, whatever else loads a shared machine. Writes lines of
 * <pre>
 *   verify WIDTH nanos...            a target pass scoring WIDTH positions (1..9), at a context of ~80 tokens
 *   draft TOKENS BACKLOG nanos...    ModelDrafter.propose(TOKENS) whose catch-up was BACKLOG tokens
 *   acceptance a1 a2 ...             greedy acceptance of draft position j given j-1 accepted (fixed γ = 8, the prompts)
 * </pre>
 * after a warm-up, alternating the kinds of measurement round by round so drift of a shared machine hits all alike.
 */
public final class RecordStepTimings {

    static final int ROUNDS = 21;

    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();
    private static boolean cpuClock;

    /** Now, on the clock of the recording: wall time, or this thread's CPU time. */
    static long now() {
        return cpuClock ? THREADS.getCurrentThreadCpuTime() : System.nanoTime();
    }
    static final int[] BACKLOGS = {1, 2, 16, 64, 256};

    private RecordStepTimings() {
    }

    public static void main(String[] args) throws IOException {
        cpuClock = args.length > 4 && args[4].equals("cpu");
        try (LoadedModel target = ModelLoader.load(Path.of(args[0]), "cpu", "auto", "auto");
             LoadedModel drafter = ModelLoader.load(Path.of(args[1]), "cpu", "auto", "auto")) {
            List<String> prompts = Files.readAllLines(Path.of(args[2])).stream().filter(s -> !s.isBlank()).toList();
            int[] context = target.tokenizer().encode(String.join(" ", prompts));
            context = java.util.Arrays.copyOf(context, Math.min(context.length, 300));
            List<List<Long>> verify = new ArrayList<>();
            for (int w = 1; w <= 9; w++) {
                verify.add(new ArrayList<>());
            }
            List<List<Long>> draftByLength = new ArrayList<>();
            for (int g = 1; g <= 8; g++) {
                draftByLength.add(new ArrayList<>());
            }
            List<List<Long>> draftByBacklog = new ArrayList<>();
            for (int b : BACKLOGS) {
                draftByBacklog.add(new ArrayList<>());
            }
            ModelDrafter modelDrafter = new ModelDrafter(drafter.name(), drafter.model());
            LogitsProcessor greedy = new LogitsProcessor(SamplingParams.GREEDY);
            for (int round = -3; round < ROUNDS; round++) {
                boolean keep = round >= 0;
                // Target passes of each width after an 80-token context.
                try (KvCache cache = target.model().newCache(512)) {
                    target.model().forward(java.util.Arrays.copyOf(context, 80), cache, 1);
                    for (int w = 1; w <= 9; w++) {
                        int before = cache.length();
                        long t0 = now();
                        target.model().forward(java.util.Arrays.copyOfRange(context, 80, 80 + w), cache, w);
                        long dt = now() - t0;
                        cache.truncate(before);
                        if (keep) {
                            verify.get(w - 1).add(dt);
                        }
                    }
                }
                // Drafts of each length from a caught-up drafter (backlog 1).
                for (int g = 1; g <= 8; g++) {
                    TokenSequence seq = new TokenSequence(java.util.Arrays.copyOf(context, 80));
                    try (DraftSession s = modelDrafter.open(new DraftContext(seq, greedy, new TokenCounts(
                            target.model().vocabSize()), new TokenSampler(1L), target.model().vocabSize(), 512))) {
                        s.propose(1, DraftGate.ALWAYS);
                        s.accepted(0, context[80]);
                        seq.append(context[80]);
                        long t0 = now();
                        s.propose(g, DraftGate.ALWAYS);
                        long dt = now() - t0;
                        if (keep) {
                            draftByLength.get(g - 1).add(dt);
                        }
                    }
                }
                // One-token drafts after a backlog of b tokens (the first draft of a request catches up on its prompt).
                for (int i = 0; i < BACKLOGS.length; i++) {
                    int b = BACKLOGS[i];
                    TokenSequence seq = new TokenSequence(java.util.Arrays.copyOf(context, 20));
                    try (DraftSession s = modelDrafter.open(new DraftContext(seq, greedy, new TokenCounts(
                            target.model().vocabSize()), new TokenSampler(1L), target.model().vocabSize(), 512))) {
                        s.propose(1, DraftGate.ALWAYS);
                        s.accepted(0, context[20]);
                        for (int k = 0; k < b; k++) {
                            seq.append(context[20 + k]);
                        }
                        long t0 = now();
                        s.propose(1, DraftGate.ALWAYS);
                        long dt = now() - t0;
                        if (keep) {
                            draftByBacklog.get(i).add(dt);
                        }
                    }
                }
            }
            double[] acceptance = acceptance(target, modelDrafter, prompts);
            try (PrintWriter out = new PrintWriter(Files.newBufferedWriter(Path.of(args[3])))) {
                out.printf("# %s + %s, recorded by RecordStepTimings (%s, %d threads), load average %s%n",
                        target.name(), drafter.name(), cpuClock ? "thread CPU time" : "wall time",
                        Runtime.getRuntime().availableProcessors(), loadAverage());
                for (int w = 1; w <= 9; w++) {
                    out.println("verify " + w + " " + join(verify.get(w - 1)));
                }
                for (int g = 1; g <= 8; g++) {
                    out.println("draft " + g + " 1 " + join(draftByLength.get(g - 1)));
                }
                for (int i = 0; i < BACKLOGS.length; i++) {
                    out.println("draft 1 " + BACKLOGS[i] + " " + join(draftByBacklog.get(i)));
                }
                StringBuilder a = new StringBuilder("acceptance");
                for (double v : acceptance) {
                    a.append(String.format(Locale.ROOT, " %.3f", v));
                }
                out.println(a);
            }
        }
    }

    /** Greedy conditional acceptance by draft position, from fixed γ = 8 over the prompts (64 tokens each). */
    static double[] acceptance(LoadedModel target, ModelDrafter drafter, List<String> prompts) {
        SpeculativeGenerator generator = new SpeculativeGenerator(target.model(), target.tokenizer(), target.eosIds(),
                512, drafter, () -> new FixedPolicy(8), null);
        long[] accepted = new long[8];
        long[] drafted = new long[8];
        for (String p : prompts) {
            DecodingStats s = generator.generate(GenerationRequest.of(target.tokenizer().encode(p), 64,
                    SamplingParams.GREEDY)).stats();
            for (int i = 0; i < 8 && i < s.acceptedByPosition().length; i++) {
                accepted[i] += s.acceptedByPosition()[i];
                drafted[i] += s.draftedByPosition()[i];
            }
        }
        double[] a = new double[8];
        for (int i = 0; i < 8; i++) {
            long reached = i == 0 ? drafted[0] : accepted[i - 1];
            a[i] = reached == 0 ? 0 : (double) accepted[i] / reached;
        }
        return a;
    }

    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    private static String join(List<Long> values) {
        StringBuilder b = new StringBuilder();
        for (long v : values) {
            b.append(b.length() == 0 ? "" : " ").append(v);
        }
        return b.toString();
    }
}
