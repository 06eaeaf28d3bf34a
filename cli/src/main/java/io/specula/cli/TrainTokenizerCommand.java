package io.specula.cli;

import io.specula.training.BpeTrainer;
import io.specula.training.Corpus;
import io.specula.training.TokenizerFiles;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code specula train-tokenizer}: a byte-fallback BPE in the Llama 2 layout, written as tokenizer.json. */
@Command(name = "train-tokenizer", mixinStandardHelpOptions = true,
        description = "Learn a byte-fallback BPE tokenizer (Llama 2 layout) from plain text and write tokenizer.json"
                + " and tokenizer_config.json.")
final class TrainTokenizerCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--corpus", defaultValue = "samples/models/corpus/train",
            description = "A .txt file or a folder of them (default ${DEFAULT-VALUE}).")
    Path corpus;

    @Option(names = "--out", required = true, description = "Folder to write tokenizer.json and tokenizer_config.json to.")
    Path out;

    @Option(names = "--vocab-size", defaultValue = "4096",
            description = "Tokens in all: 3 special, 256 bytes, the characters, then merges (default ${DEFAULT-VALUE}).")
    int vocabSize;

    @Option(names = "--min-char-count", defaultValue = "5",
            description = "Rarer characters are left to the byte tokens (default ${DEFAULT-VALUE}).")
    int minCharCount;

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        List<Corpus.Document> docs = Corpus.read(corpus);
        long chars = docs.stream().mapToLong(d -> d.text().length()).sum();
        BpeTrainer.Vocabulary v = new BpeTrainer(vocabSize, minCharCount, 2).train(Corpus.texts(docs));
        TokenizerFiles.write(out, v);
        err.printf("%d documents, %,d characters: %d tokens (%d characters, %d merges) in %.1f s -> %s%n", docs.size(),
                chars, v.tokens().size(), v.alphabetSize(), v.merges().size(), (System.nanoTime() - t0) / 1e9, out);
        err.flush();
        return 0;
    }
}
