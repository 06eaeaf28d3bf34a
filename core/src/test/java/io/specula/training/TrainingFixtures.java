package io.specula.training;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A small slice of the committed corpus, a tokenizer trained on it, and a tiny model shape: seconds to train. */
final class TrainingFixtures {

    static final Path CORPUS = locateCorpus();

    private TrainingFixtures() {
    }

    private static Path locateCorpus() {
        for (Path p : List.of(Path.of("samples/models/corpus"), Path.of("../samples/models/corpus"))) {
            if (Files.isDirectory(p.resolve("train"))) {
                return p;
            }
        }
        throw new IllegalStateException("samples/models/corpus not found from " + Path.of("").toAbsolutePath());
    }

    /** Writes train/, valid/ and tokenizer/ under {@code dir}: 24 KB and 6 KB of Pride and Prejudice. */
    static void prepare(Path dir, int vocabSize) throws IOException {
        String train = Files.readString(CORPUS.resolve("train/austen-pride-and-prejudice.txt"), StandardCharsets.UTF_8);
        String valid = Files.readString(CORPUS.resolve("valid/austen-pride-and-prejudice.txt"), StandardCharsets.UTF_8);
        Files.createDirectories(dir.resolve("train"));
        Files.createDirectories(dir.resolve("valid"));
        Files.writeString(dir.resolve("train/a.txt"), cut(train, 24_000), StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("valid/a.txt"), cut(valid, 6_000), StandardCharsets.UTF_8);
        BpeTrainer.Vocabulary v = new BpeTrainer(vocabSize, 2, 2).train(Corpus.texts(Corpus.read(dir.resolve("train"))));
        TokenizerFiles.write(dir.resolve("tokenizer"), v);
    }

    private static String cut(String s, int n) {
        int end = s.indexOf("\n\n", n);
        return s.substring(0, end < 0 ? s.length() : end) + "\n";
    }

    /** Two layers, hidden 32, four query heads sharing two key/value heads: grouped-query attention is exercised. */
    static ModelShape tinyShape(int vocabSize) {
        return ModelShape.llama(vocabSize, 32, 64, 2, 4, 2, 64);
    }

    static TrainingOptions options(Path dir, String name, ModelShape shape) {
        TrainingOptions o = new TrainingOptions();
        o.train = dir.resolve("train");
        o.valid = dir.resolve("valid");
        o.tokenizer = dir.resolve("tokenizer");
        o.out = dir.resolve(name);
        o.shape = shape;
        o.seqLen = 32;
        o.batchSize = 4;
        o.steps = 40;
        o.warmupSteps = 4;
        o.learningRate = 1e-2f;
        o.evalEvery = 20;
        o.checkpointEvery = 20;
        o.evalWindows = 8;
        o.exportDtype = SafeTensorsFiles.DType.F32;
        o.logEvery = 10;
        o.seed = 7;
        return o;
    }
}
