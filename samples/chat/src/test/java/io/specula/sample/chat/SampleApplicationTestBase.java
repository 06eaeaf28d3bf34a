package io.specula.sample.chat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.specula.testing.TinyModelDirs;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.SpringBootTest.WebEnvironment;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * The sample application as it runs, with its own application.yml, on a real port, over a tiny model pair that the
 * tests write (so they do not need the shipped pair): a Llama model with a byte-fallback tokenizer and no chat
 * template (as the shipped pair), and a drafter with the same weights, so that every drafted token is accepted and
 * each step yields drafted tokens and one token of the target. Greedy decoding and a fixed draft length make the
 * answers reproducible; the test classes share this configuration and so one application context.
 */
@SpringBootTest(webEnvironment = WebEnvironment.RANDOM_PORT,
        properties = { "spring.ai.specula.chat.temperature=0", "spring.ai.specula.chat.max-tokens=24",
                "spring.ai.specula.chat.draft-tokens=4", "spring.ai.specula.chat.draft-policy=fixed",
                "spring.ai.specula.max-context-tokens=256", "specula.sample.benchmark.max-tokens=12",
                "specula.sample.benchmark.rounds=1" })
abstract class SampleApplicationTestBase {

    static final Path MODELS = writeModels();

    @DynamicPropertySource
    static void models(DynamicPropertyRegistry registry) {
        // through application.yml's spring.ai.specula.target: ${specula.sample.models}/target
        registry.add("specula.sample.models", MODELS::toString);
    }

    /** target/ and drafter/ under samples/chat/target/sample-models, as the shipped pair sits in samples/models. */
    static Path writeModels() {
        try {
            Path dir = Files.createDirectories(Path.of("target", "sample-models")).toAbsolutePath();
            TinyModelDirs.llama(dir.resolve("target"), 11);
            TinyModelDirs.llama(dir.resolve("drafter"), 11);
            return dir;
        }
        catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    @LocalServerPort
    int port;

    String baseUrl() {
        return "http://localhost:" + this.port;
    }
}
