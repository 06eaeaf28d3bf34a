package io.specula.adaptive;

import io.specula.engine.EngineConfig;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The adaptive drafter end to end on a tiny pair with a domain gap ({@link AdaptiveFixtures}: the drafter was
 * distilled on Austen only, the target also knows Conan Doyle): after a stream of Doyle prompts it drafts Doyle
 * better; greedy outputs stay exactly the target's throughout, across hot-swaps, inside a request that spans one,
 * when an update fails; checkpoints reload.
 */
class AdaptiveDrafterTest {

    static final SpeculationSettings FIXED = new SpeculationSettings(true, 4, DraftPolicy.FIXED);
    static final int MAX_TOKENS = 24;

    /** Updates are driven by the test (the background trainer waits an hour), so runs are deterministic. */
    static AdaptiveConfig config() {
        return AdaptiveConfig.defaults()
                .withSchedule(Duration.ofHours(1), 1, 1.0)
                .withTraining(8, 3e-3f, 30)
                .withBuffer(1024, 0.2, 48, 16, 64, AdaptiveConfig.Loss.KL)
                .withSeed(5);
    }

    static SpeculaEngine engine(AdaptiveConfig config) {
        return SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(), AdaptiveFixtures.drafter().toString()), config);
    }

    static List<GenerationRequest> requests(SpeculaEngine engine, List<String> prompts) {
        List<GenerationRequest> out = new ArrayList<>();
        for (String p : prompts) {
            out.add(GenerationRequest.of(engine.tokenizer().encode(p), MAX_TOKENS, SamplingParams.GREEDY));
        }
        return out;
    }

    /** Accepted / drafted tokens over the requests, checking each output against target-only decoding. */
    static double acceptance(SpeculaEngine engine, List<GenerationRequest> requests) {
        long drafted = 0;
        long accepted = 0;
        for (GenerationRequest r : requests) {
            GenerationResult s = generateChecked(engine, r);
            drafted += s.stats().draftedTokens();
            accepted += s.stats().acceptedTokens();
        }
        return (double) accepted / drafted;
    }

    static GenerationResult generateChecked(SpeculaEngine engine, GenerationRequest r) {
        GenerationResult plain = engine.generate(r, SpeculationSettings.OFF, null);
        GenerationResult s = engine.generate(r, FIXED, null);
        assertThat(s.tokenIds()).as("speculative output = target-only output").containsExactly(plain.tokenIds());
        return s;
    }

    @Test
    void learnsANewDomainFromTrafficAndStaysLossless() {
        try (SpeculaEngine engine = engine(config())) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            List<GenerationRequest> fresh = requests(engine, AdaptiveFixtures.prompts(AdaptiveFixtures.domainBFresh(), 12, 6));
            List<GenerationRequest> stream = requests(engine, AdaptiveFixtures.prompts(AdaptiveFixtures.domainB(), 36, 6));

            double before = acceptance(engine, fresh);
            List<AdaptiveDrafter.UpdateResult> updates = new ArrayList<>();
            for (int chunk = 0; chunk < 3; chunk++) {
                for (GenerationRequest r : stream.subList(chunk * 12, chunk * 12 + 12)) {
                    generateChecked(engine, r);
                }
                updates.add(adaptive.update());
            }
            double after = acceptance(engine, fresh);
            System.out.printf("acceptance on fresh domain-B prompts: before %.4f, after %.4f (version %d); updates %s%n",
                    before, after, adaptive.version(), updates);

            assertThat(adaptive.version()).isGreaterThan(0);
            assertThat(adaptive.trainingSteps()).isEqualTo(updates.stream().mapToLong(AdaptiveDrafter.UpdateResult::steps).sum());
            assertThat(adaptive.failures()).isZero();
            assertThat(after - before).as("acceptance gain on fresh prompts").isGreaterThan(MARGIN);
        }
    }

    /** See docs/adaptive.md: the measured gain and why this margin cannot be reached by chance. */
    static final double MARGIN = 0.10;

    @Test
    void aRequestThatSpansAHotSwapKeepsItsVersionAndTheTargetsOutput() {
        try (SpeculaEngine engine = engine(config())) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            List<GenerationRequest> stream = requests(engine, AdaptiveFixtures.prompts(AdaptiveFixtures.domainB(), 24, 10));
            for (GenerationRequest r : stream) {
                generateChecked(engine, r);
            }
            GenerationRequest r = stream.get(3);
            GenerationResult plain = engine.generate(r, SpeculationSettings.OFF, null);
            int[] updatedAt = {-1};
            List<AdaptiveDrafter.UpdateResult> results = new ArrayList<>();
            // The swap happens on the decoding thread, between two steps of this request.
            GenerationResult spanning = engine.generate(r, FIXED, (id, text, source) -> {
                if (updatedAt[0] < 0) {
                    updatedAt[0] = id;
                    // A candidate serves only when it is better by a margin; one that is not yet goes on training
                    // in the next update, so a few updates in a row end with one swapped in.
                    for (int k = 0; k < 6 && adaptive.version() == 0; k++) {
                        results.add(adaptive.update());
                    }
                }
            });
            assertThat(results.get(results.size() - 1).outcome()).as(results.toString())
                .isEqualTo(AdaptiveDrafter.Outcome.ACCEPTED);
            assertThat(adaptive.version()).isEqualTo(1);
            assertThat(spanning.tokenIds()).containsExactly(plain.tokenIds());
            // The old version's session drafted the whole request; the next request drafts with version 1.
            AdaptationStatus status = adaptive.status();
            assertThat(status.versions().get(1).version()).isZero();
            assertThat(status.versions().get(1).draftedTokens()).isGreaterThanOrEqualTo(spanning.stats().draftedTokens());
            generateChecked(engine, stream.get(5));
            assertThat(adaptive.status().versions().get(0).requests()).isEqualTo(1);
        }
    }

    @Test
    void aFailedUpdateIsCountedAndServingGoesOnWithTheLastGoodDrafter() {
        AdaptiveConfig exploding = config().withTraining(8, 1e30f, 5);
        try (SpeculaEngine engine = engine(exploding)) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            List<GenerationRequest> stream = requests(engine, AdaptiveFixtures.prompts(AdaptiveFixtures.domainB(), 24, 10));
            for (GenerationRequest r : stream) {
                generateChecked(engine, r);
            }
            AdaptiveDrafter.UpdateResult u = adaptive.update();
            assertThat(u.outcome()).isIn(AdaptiveDrafter.Outcome.FAILED, AdaptiveDrafter.Outcome.REJECTED);
            assertThat(adaptive.version()).isZero();
            if (u.outcome() == AdaptiveDrafter.Outcome.FAILED) {
                assertThat(adaptive.failures()).isEqualTo(1);
                assertThat(adaptive.status().lastError()).contains("loss");
            }
            for (GenerationRequest r : stream.subList(0, 4)) {
                generateChecked(engine, r);
            }
        }
    }

    @Test
    void checkpointsKeepTheNewestVersionsAndReloadAtStartUp(@TempDir Path dir) throws Exception {
        Path checkpoints = dir.resolve("adapted");
        AdaptiveConfig c = config().withCheckpoints(checkpoints, 1);
        int version;
        GenerationResult last;
        List<GenerationRequest> stream;
        try (SpeculaEngine engine = engine(c)) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            stream = requests(engine, AdaptiveFixtures.prompts(AdaptiveFixtures.domainB(), 36, 10));
            int accepted = 0;
            for (int chunk = 0; chunk < 3; chunk++) {
                for (GenerationRequest r : stream.subList(chunk * 12, chunk * 12 + 12)) {
                    generateChecked(engine, r);
                }
                if (adaptive.update().outcome() == AdaptiveDrafter.Outcome.ACCEPTED) {
                    accepted++;
                }
            }
            assertThat(accepted).isGreaterThanOrEqualTo(2);
            version = adaptive.version();
            last = engine.generate(stream.get(0), FIXED, null);
        }
        List<DrafterCheckpoints.Checkpoint> kept = DrafterCheckpoints.list(checkpoints);
        assertThat(kept).hasSize(1); // two versions were written, retention 1
        assertThat(kept.get(0).version()).isEqualTo(version);
        Path newest = kept.get(0).dir();
        assertThat(newest.resolve("config.json")).exists();
        assertThat(newest.resolve("tokenizer.json")).exists();
        assertThat(Files.list(checkpoints).filter(p -> p.getFileName().toString().startsWith(".")).count()).isZero();

        try (SpeculaEngine restarted = engine(c)) {
            AdaptiveDrafter adaptive = restarted.adaptive().orElseThrow();
            assertThat(adaptive.version()).isEqualTo(version);
            GenerationResult again = generateChecked(restarted, stream.get(0));
            // Same weights: the same drafts and acceptance as before the restart.
            assertThat(again.tokenIds()).containsExactly(last.tokenIds());
            assertThat(again.stats().acceptedTokens()).isEqualTo(last.stats().acceptedTokens());
            assertThat(again.stats().draftedTokens()).isEqualTo(last.stats().draftedTokens());
        }
        // A checkpoint folder is a drafter directory the engine loads as it is.
        try (SpeculaEngine plain = SpeculaEngine.load(EngineConfig.of(AdaptiveFixtures.target(), newest.toString()))) {
            assertThat(plain.generate(stream.get(0), FIXED, null).stats().acceptedTokens())
                    .isEqualTo(last.stats().acceptedTokens());
        }
    }
}
