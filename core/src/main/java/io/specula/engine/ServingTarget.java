package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.generate.PlainGenerator;
import io.specula.speculative.SpeculativeGenerator;
import io.specula.speculative.drafter.VocabularyCheck;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One version of the target as it serves: the loaded model with the generators that decode on it. The engine holds
 * the serving one; each request holds the one it started with until it ends ({@link #acquire}/{@link #release}), so
 * a target update ({@link SpeculaEngine#updateTarget}) never changes the model under a request: requests in flight
 * finish on their target, new ones start on the new one, and the old model is closed when its last request ends.
 *
 * @param version 1 for the target loaded at start-up, then one more per update
 */
final class ServingTarget {

    final int version;
    final LoadedModel model;
    final PlainGenerator plain;
    final SpeculativeGenerator speculative;     // null without a drafter
    final long kvBytesPerPosition;
    private final AtomicInteger references = new AtomicInteger(1);  // the engine's own, until it is replaced
    private final Object engineTokenizer;

    ServingTarget(int version, LoadedModel model, PlainGenerator plain, SpeculativeGenerator speculative,
                  Object engineTokenizer) {
        this.engineTokenizer = engineTokenizer;
        this.version = version;
        this.model = model;
        this.plain = plain;
        this.speculative = speculative;
        this.kvBytesPerPosition = SpeculaEngine.kvBytesPerPosition(model);
    }

    /** Takes a reference for a request; false if this version was closed in the meantime (take the serving one). */
    boolean acquire() {
        while (true) {
            int n = references.get();
            if (n == 0) {
                return false;
            }
            if (references.compareAndSet(n, n + 1)) {
                return true;
            }
        }
    }

    /**
     * Drops a reference; the last one closes the model, and its tokenizer unless it is the engine's (the start-up
     * target's, which prepares every request and which the engine closes itself).
     */
    void release() {
        if (references.decrementAndGet() == 0) {
            model.model().close();
            if (model.tokenizer() != engineTokenizer) {
                model.tokenizer().close();
            }
        }
    }

    /**
     * What a target update must keep: the tokenizer (prompts are encoded with it), the context, the drafter's ids; throws naming
     * what differs.
     */
    static void checkReplacement(LoadedModel old, LoadedModel next, int contextLimit, LoadedModel drafterModel) {
        for (String file : new String[] {"tokenizer.json", "tokenizer_config.json"}) {
            byte[] a = fileOrNull(old.directory(), file);
            byte[] b = fileOrNull(next.directory(), file);
            if (!Arrays.equals(a, b)) {
                throw new SpeculaException("target update: " + next.directory() + " has another " + file
                        + " than the serving target " + old.directory() + "; a target update must keep the tokenizer");
            }
        }
        if (next.tokenizer().vocabSize() != old.tokenizer().vocabSize()) {
            throw new SpeculaException("target update: " + next.directory() + " has a vocabulary of "
                    + next.tokenizer().vocabSize() + " tokens, the serving target " + old.tokenizer().vocabSize());
        }
        if (next.config().maxPositionEmbeddings() < contextLimit) {
            throw new SpeculaException("target update: " + next.directory() + " takes " + next.config()
                    .maxPositionEmbeddings() + " positions (max_position_embeddings), the engine's context window is "
                    + contextLimit);
        }
        if (drafterModel != null) {
            VocabularyCheck.verify(next.name(), next.tokenizer(), next.model().vocabSize(), drafterModel.name(),
                    drafterModel.tokenizer(), drafterModel.model().vocabSize());
        }
    }

    /** A tokenizer file's bytes; null when the model is a GGUF file or has no such file. */
    private static byte[] fileOrNull(Path dir, String file) {
        if (dir == null || !Files.isDirectory(dir)) {
            return null;
        }
        Path f = dir.resolve(file);
        try {
            return Files.isRegularFile(f) ? Files.readAllBytes(f) : null;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
