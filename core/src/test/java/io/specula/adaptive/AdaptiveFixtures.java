package io.specula.adaptive;

import io.specula.training.BpeTrainer;
import io.specula.training.Corpus;
import io.specula.training.ModelShape;
import io.specula.training.SafeTensorsFiles;
import io.specula.training.Trainer;
import io.specula.training.TokenizerFiles;
import io.specula.training.TrainingOptions;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny target and drafter with a domain gap, trained in seconds: the target is pretrained on two domains, A (a slice
 * of Pride and Prejudice from the committed corpus) and B (a synthetic "list language": lines of 16 words where each
 * word is always followed by the same next word), the drafter is distilled from the target on domain A only. So on
 * B the target is sure of itself and the drafter has never seen the words. Everything is seeded: the same files on
 * every run.
 *
 * <p>Why not a second real text as domain B: a target this small (trained for seconds) continues Austen and Conan Doyle
 * alike, and a drafter distilled on Austen already drafts Doyle prompts as well as it can (measured: live acceptance
 * 0.0887 before and after adaptation). Real drift between texts needs the sample models; see docs/adaptive.md.
 */
final class AdaptiveFixtures {

    static final int VOCAB = 320;

    private static Path root;

    private AdaptiveFixtures() {
    }

    /** The tiny pair, built once per JVM under a temporary folder. */
    static synchronized Path root() {
        if (root == null) {
            try {
                Path dir = Files.createTempDirectory("specula-adaptive");
                build(dir);
                root = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return root;
    }

    static Path target() {
        return root().resolve("target");
    }

    static Path drafter() {
        return root().resolve("drafter");
    }

    private static Path targetV2;

    /**
     * Target v2: the target fine-tuned (the project's {@link Trainer}, {@code initFrom}) on domain B as v2 speaks it
     * ({@link #domainB2}); same tokenizer and shape. Built once per JVM.
     */
    static synchronized Path targetV2() {
        if (targetV2 == null) {
            try {
                Path dir = root();
                Path b2 = dir.resolve("b2");
                Files.createDirectories(b2);
                Files.writeString(b2.resolve("b2.txt"), domainB2(7, 300), StandardCharsets.UTF_8);
                TrainingOptions t = options(dir, b2, dir.resolve("valid"), "target-v2",
                        ModelShape.llama(VOCAB, 48, 96, 2, 4, 2, 128));
                t.initFrom = dir.resolve("target");
                t.steps = 60;
                t.learningRate = 1e-2f;
                train(t);
                targetV2 = dir.resolve("target-v2");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return targetV2;
    }

    static Path corpus() {
        for (Path p : List.of(Path.of("samples/models/corpus"), Path.of("../samples/models/corpus"))) {
            if (Files.isDirectory(p.resolve("train"))) {
                return p;
            }
        }
        throw new IllegalStateException("samples/models/corpus not found from " + Path.of("").toAbsolutePath());
    }

    static String domainA() {
        return read("train/austen-pride-and-prejudice.txt", 12_000);
    }

    static final String[] WORDS = {"north", "river", "stone", "lamp", "violin", "fog", "cab", "street", "pipe",
            "clock", "door", "window", "garden", "bridge", "letter", "key"};

    /** Domain B: {@code lines} lines of 8 to 19 words, each word followed by its fixed successor. */
    static String domainB(long seed, int lines) {
        return listLanguage(seed, lines, 5, 3);
    }

    /**
     * Domain B as target v2 speaks it: the same words, each followed by another fixed successor (3w + 7 instead of
     * 5w + 3), so a drafter that learnt v1's successors is wrong on nearly every word.
     */
    static String domainB2(long seed, int lines) {
        return listLanguage(seed, lines, 3, 7);
    }

    private static String listLanguage(long seed, int lines, int mul, int add) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        StringBuilder b = new StringBuilder();
        for (int l = 0; l < lines; l++) {
            int w = r.nextInt(WORDS.length);
            int n = 8 + r.nextInt(12);
            for (int i = 0; i < n; i++) {
                b.append(i == 0 ? "" : " ").append(WORDS[w]);
                w = (mul * w + add) % WORDS.length;
            }
            b.append(".\n\n");
        }
        return b.toString();
    }

    /** The stream the drafter adapts on. */
    static String domainB() {
        return domainB(101, 200);
    }

    /** Other lines of domain B: prompts the adaptation never saw. */
    static String domainBFresh() {
        return domainB(202, 60);
    }

    private static String read(String file, int chars) {
        try {
            String s = Files.readString(corpus().resolve(file), StandardCharsets.UTF_8);
            // Skip the front matter: start at a paragraph a few thousand characters in.
            int start = s.indexOf("\n\n", Math.min(s.length() / 10, 5_000)) + 2;
            int end = s.indexOf("\n\n", start + chars);
            return s.substring(start, end < 0 ? s.length() : end) + "\n";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code n} prompts of about {@code words} words, cut at evenly spaced word boundaries of {@code text}. */
    static List<String> prompts(String text, int n, int words) {
        String[] w = text.replaceAll("\\s+", " ").strip().split(" ");
        List<String> out = new ArrayList<>();
        int stride = Math.max(1, (w.length - words) / n);
        for (int i = 0; i < n; i++) {
            int at = i * stride;
            out.add(String.join(" ", java.util.Arrays.copyOfRange(w, at, Math.min(w.length, at + words))));
        }
        return out;
    }

    private static void build(Path dir) throws IOException {
        // One PyTorch thread: the machines running the tests are shared (read when DJL's engine starts).
        if (System.getProperty("ai.djl.pytorch.num_threads") == null) {
            System.setProperty("ai.djl.pytorch.num_threads", "1");
            System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        }
        Path mixed = dir.resolve("mixed");
        Path onlyA = dir.resolve("a");
        Path valid = dir.resolve("valid");
        Files.createDirectories(mixed);
        Files.createDirectories(onlyA);
        Files.createDirectories(valid);
        Files.writeString(mixed.resolve("a.txt"), domainA(), StandardCharsets.UTF_8);
        Files.writeString(mixed.resolve("b.txt"), domainB(7, 300), StandardCharsets.UTF_8);
        Files.writeString(onlyA.resolve("a.txt"), domainA(), StandardCharsets.UTF_8);
        Files.writeString(valid.resolve("a.txt"), read("valid/austen-pride-and-prejudice.txt", 3_000),
                StandardCharsets.UTF_8);
        BpeTrainer.Vocabulary v = new BpeTrainer(VOCAB, 2, 2).train(Corpus.texts(Corpus.read(mixed)));
        TokenizerFiles.write(dir.resolve("tokenizer"), v);

        TrainingOptions t = options(dir, mixed, valid, "target", ModelShape.llama(VOCAB, 48, 96, 2, 4, 2, 128));
        t.steps = 100;
        t.learningRate = 1e-2f;
        train(t);

        TrainingOptions d = options(dir, onlyA, valid, "drafter", ModelShape.llama(VOCAB, 32, 64, 1, 2, 1, 128));
        d.teacher = dir.resolve("target");
        d.steps = 40;
        d.learningRate = 1e-2f;
        train(d);
    }

    private static TrainingOptions options(Path dir, Path train, Path valid, String name, ModelShape shape) {
        TrainingOptions o = new TrainingOptions();
        o.train = train;
        o.valid = valid;
        o.tokenizer = dir.resolve("tokenizer");
        o.out = dir.resolve(name);
        o.shape = shape;
        o.seqLen = 32;
        o.batchSize = 8;
        o.warmupSteps = 10;
        o.evalEvery = 1_000;
        o.checkpointEvery = 1_000;
        o.evalWindows = 4;
        o.exportDtype = SafeTensorsFiles.DType.F32;
        o.exportBest = false;
        o.logEvery = 1_000;
        o.seed = 11;
        return o;
    }

    private static void train(TrainingOptions o) {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        new Trainer(o, new PrintStream(log, true, StandardCharsets.UTF_8), false).run();
        System.out.printf("trained %s in %.1f s%n", o.out.getFileName(), (System.nanoTime() - t0) / 1e9);
    }
}
