package io.specula.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.specula.SpeculaException;
import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Ollama's model store as Ollama lays it out ({@code manifests/registry.ollama.ai/library/NAME/TAG} listing the
 * layers, {@code blobs/sha256-DIGEST} holding them): an {@code ollama:} name resolves to the model layer's blob and
 * loads like any GGUF file.
 */
class OllamaModelsTest {

    @TempDir
    Path store;

    @AfterEach
    void clearProperty() {
        System.clearProperty(OllamaModels.SYSTEM_PROPERTY);
    }

    /** Pulls a fixture into the fake store as {@code name:tag} (with a template layer, as Ollama has). */
    Path pull(String host, String namespace, String name, String tag, Path gguf) throws IOException {
        String digest = "a".repeat(60) + Integer.toHexString(0x1000 + name.length()).substring(0, 4);
        Path blobs = Files.createDirectories(store.resolve("blobs"));
        Files.copy(gguf, blobs.resolve("sha256-" + digest));
        Files.writeString(blobs.resolve("sha256-" + "b".repeat(64)), "{{ .Prompt }}");
        Path manifest = Files.createDirectories(store.resolve("manifests").resolve(host).resolve(namespace)
                .resolve(name)).resolve(tag);
        Files.writeString(manifest, """
                {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
                 "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"sha256:%s","size":1},
                 "layers":[{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:%s","size":13},
                           {"mediaType":"application/vnd.ollama.image.model","digest":"sha256:%s","size":%d}]}
                """.formatted("c".repeat(64), "b".repeat(64), digest, Files.size(gguf)));
        return blobs.resolve("sha256-" + digest);
    }

    @Test
    void aPulledModelResolvesToItsBlobAndLoads() throws IOException {
        Path blob = pull("registry.ollama.ai", "library", "tiny-qwen", "q8_0",
                GgufFixtures.byName("qwen2-q8_0").file());
        assertThat(OllamaModels.resolve("ollama:tiny-qwen:q8_0", store)).isEqualTo(blob);
        System.setProperty(OllamaModels.SYSTEM_PROPERTY, store.toString());
        assertThat(OllamaModels.resolve("ollama:tiny-qwen:q8_0")).isEqualTo(blob);
        try (LoadedModel m = ModelLoader.load(Path.of("ollama:tiny-qwen:q8_0"), "cpu", "auto", "auto")) {
            assertThat(m.name()).isEqualTo("tiny-qwen:q8_0");
            assertThat(m.directory()).isEqualTo(blob);
            assertThat(m.tokenizer().encode("Hello world", false)).isNotEmpty();
        }
    }

    @Test
    void namesGetOllamasDefaultsHostNamespaceAndTag() throws IOException {
        Path latest = pull("registry.ollama.ai", "library", "llama-tiny", "latest",
                GgufFixtures.byName("llama-q4_0").file());
        assertThat(OllamaModels.resolve("ollama:llama-tiny", store)).isEqualTo(latest);
        Path user = pull("registry.ollama.ai", "someone", "mymodel", "v1", GgufFixtures.byName("llama-q4_0").file());
        assertThat(OllamaModels.resolve("ollama:someone/mymodel:v1", store)).isEqualTo(user);
        Path hf = pull("hf.co", "org", "repo-GGUF", "Q4_K_M", GgufFixtures.byName("llama-q4_0").file());
        assertThat(OllamaModels.resolve("ollama:hf.co/org/repo-GGUF:Q4_K_M", store)).isEqualTo(hf);
        assertThat(OllamaModels.parse("x", "qwen2.5:0.5b"))
                .containsExactly("registry.ollama.ai", "library", "qwen2.5", "0.5b");
    }

    @Test
    void missingModelsAndBadNamesSayWhatWasLookedFor() throws IOException {
        assertThatThrownBy(() -> OllamaModels.resolve("ollama:qwen2.5:0.5b", store))
                .isInstanceOf(SpeculaException.class).hasMessageContaining("Ollama model 'qwen2.5:0.5b'")
                .hasMessageContaining(store.resolve("manifests/registry.ollama.ai/library/qwen2.5/0.5b").toString())
                .hasMessageContaining("ollama pull qwen2.5:0.5b").hasMessageContaining("OLLAMA_MODELS");
        for (String bad : new String[] {"ollama:", "ollama:a/b/c/d", "ollama:../etc:passwd", "ollama:x:"}) {
            assertThatThrownBy(() -> OllamaModels.resolve(bad, store)).isInstanceOf(SpeculaException.class)
                    .hasMessageContaining("is not an Ollama model name");
        }
        Path blob = pull("registry.ollama.ai", "library", "gone", "latest", GgufFixtures.byName("llama-q4_0").file());
        Files.delete(blob);
        assertThatThrownBy(() -> OllamaModels.resolve("ollama:gone", store)).hasMessageContaining("does not exist")
                .hasMessageContaining("pull it again");
        Path adapter = Files.createDirectories(store.resolve("manifests/registry.ollama.ai/library/adapter"))
                .resolve("latest");
        Files.writeString(adapter, "{\"layers\":[{\"mediaType\":\"application/vnd.ollama.image.adapter\","
                + "\"digest\":\"sha256:" + "d".repeat(64) + "\"}]}");
        assertThatThrownBy(() -> OllamaModels.resolve("ollama:adapter", store))
                .hasMessageContaining("no layer of media type application/vnd.ollama.image.model");
    }
}
