package io.specula.adaptive;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.engine.EngineConfig;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.drafter.DraftContext;
import io.specula.training.SafeTensorsFiles;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Start-up from adaptive checkpoints that are not what they should be (issue 19, item 7): each corrupt checkpoint is
 * skipped with a warning and the newest good one serves; the fingerprint tells apart two drafters of the same shape;
 * an export never replaces a folder that is not a previous export (nor the working directory); a closed adaptive
 * drafter refuses new sessions instead of spinning.
 */
@Timeout(120)
class AdaptiveCheckpointFaultsTest {

    @TempDir
    static Path tmp;

    static Path target;

    static Path drafter;

    /** Same shape as {@link #drafter}, other weights. */
    static Path twin;

    @BeforeAll
    static void write() {
        target = TinyModelDirs.llama(tmp.resolve("target"), 31);
        drafter = TinyModelDirs.write(tmp.resolve("drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(32).layers(1));
        twin = TinyModelDirs.write(tmp.resolve("twin"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(33).layers(1));
    }

    static AdaptiveConfig config(Path checkpoints) {
        return AdaptiveConfig.defaults().withSchedule(Duration.ofHours(1), 1, 1.0).withCheckpoints(checkpoints, 5);
    }

    static Map<String, SafeTensorsFiles.Tensor> weights(Path dir) {
        return SafeTensorsFiles.read(dir.resolve("model.safetensors"));
    }

    /** A checkpoint as the adaptive drafter writes it, with {@code edit} applied to its adaptive.json. */
    static Path checkpoint(Path root, int version, String fingerprint, java.util.function.Consumer<JsonObject> edit) {
        JsonObject info = new CheckpointInfo(version, "drafter", fingerprint, 0, java.time.Instant.now(), 0.5, 0.5, 10,
                100, AdaptiveConfig.Loss.KL).toJson();
        edit.accept(info);
        return DrafterCheckpoints.write(root, version, drafter, weights(drafter), info, 100);
    }

    @Test
    void corruptCheckpointsAreSkippedAndTheNewestGoodOneServes() throws Exception {
        Path root = tmp.resolve("corrupt");
        String fingerprint = DrafterCheckpoints.fingerprint(drafter);
        checkpoint(root, 3, fingerprint, info -> { });                                  // the good one
        checkpoint(root, 4, fingerprint, info -> info.add("base_fingerprint", com.google.gson.JsonNull.INSTANCE));
        checkpoint(root, 5, fingerprint, info -> info.addProperty("based_on", "three"));
        checkpoint(root, 6, fingerprint, info -> info.addProperty("held_out_match_rate", "high"));
        checkpoint(root, 7, fingerprint, info -> info.addProperty("base_fingerprint", 42));
        Path huge = checkpoint(root, 8, fingerprint, info -> { });
        Files.move(huge, root.resolve("v99999999999"));
        Path array = checkpoint(root, 9, fingerprint, info -> { });
        Files.writeString(array.resolve(DrafterCheckpoints.INFO), "[1, 2]");
        Path binary = checkpoint(root, 10, fingerprint, info -> { });
        Files.write(binary.resolve(DrafterCheckpoints.INFO), new byte[] { (byte) 0xff, (byte) 0xfe, 0, 1 });
        Path noWeights = checkpoint(root, 11, fingerprint, info -> { });
        Files.delete(noWeights.resolve("model.safetensors"));
        Path badWeights = checkpoint(root, 12, fingerprint, info -> { });
        Files.writeString(badWeights.resolve("model.safetensors"), "not safetensors");

        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()), config(root))) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            // v000006 has a fingerprint that matches and no usable scores: it loads (scores unknown).
            assertThat(adaptive.version()).isEqualTo(6);
        }
        // Without v000005 and v000006 (readable but odd), the good one serves.
        deleteTree(root.resolve("v000005"));
        deleteTree(root.resolve("v000006"));
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()), config(root))) {
            assertThat(engine.adaptive().orElseThrow().version()).isEqualTo(3);
        }
    }

    @Test
    void theFingerprintTellsDrafterOfTheSameShapeApart() throws Exception {
        assertThat(Files.readString(drafter.resolve("config.json")))
            .isEqualTo(Files.readString(twin.resolve("config.json")));
        assertThat(Files.size(drafter.resolve("model.safetensors")))
            .isEqualTo(Files.size(twin.resolve("model.safetensors")));
        assertThat(DrafterCheckpoints.fingerprint(drafter)).startsWith(DrafterCheckpoints.FINGERPRINT_SCHEME)
            .isNotEqualTo(DrafterCheckpoints.fingerprint(twin))
            .isEqualTo(DrafterCheckpoints.fingerprint(drafter));

        // A checkpoint of the twin is not loaded over the drafter.
        Path root = tmp.resolve("twins");
        checkpoint(root, 1, DrafterCheckpoints.fingerprint(twin), info -> { });
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()), config(root))) {
            assertThat(engine.adaptive().orElseThrow().version()).isZero();
        }
    }

    @Test
    void anExportReplacesOnlyAPreviousExport() throws Exception {
        Path users = Files.createDirectories(tmp.resolve("users-folder"));
        Files.writeString(users.resolve("notes.txt"), "mine");
        JsonObject info = new JsonObject();
        assertThatThrownBy(() -> DrafterCheckpoints.export(users, drafter, weights(drafter), info))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("not empty");
        assertThat(users.resolve("notes.txt")).hasContent("mine");

        // The working directory (distill --out .), or a folder that holds it, never.
        assertThatThrownBy(() -> DrafterCheckpoints.export(Path.of("."), drafter, weights(drafter), info))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("working directory");
        assertThatThrownBy(() -> DrafterCheckpoints.export(Path.of("..").toAbsolutePath(), drafter, weights(drafter),
                info)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("working directory");

        // A new folder, then the same folder again (a previous export): replaced.
        Path out = tmp.resolve("exported");
        DrafterCheckpoints.export(out, drafter, weights(drafter), info);
        assertThat(out.resolve(DrafterCheckpoints.INFO)).exists();
        DrafterCheckpoints.export(out, drafter, weights(twin), info);
        assertThat(JsonParser.parseString(Files.readString(out.resolve("config.json"), StandardCharsets.UTF_8)))
            .isNotNull();
    }

    @Test
    void aClosedAdaptiveDrafterRefusesSessionsInsteadOfSpinning() throws Exception {
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString()),
                config(tmp.resolve("closed")))) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            adaptive.close();
            CompletableFuture<Throwable> opened = CompletableFuture.supplyAsync(() -> {
                try {
                    adaptive.open((DraftContext) null);
                    return null;
                }
                catch (Throwable e) {
                    return e;
                }
            });
            assertThat(opened.get(10, TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        }
    }

    static void deleteTree(Path dir) throws Exception {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
