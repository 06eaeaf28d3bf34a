package io.specula.training;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A checkpoint is two files written in two steps (issue 19, item 6): each write leaves a consistent pair (the JSON
 * names the tensors of its step; older tensors go), a stop requested from another thread (the shutdown hook) ends the
 * run at the next step boundary with a checkpoint, and resuming from an inconsistent pair (a run killed between the
 * two steps, in a work folder of the older layout) is refused naming both files, never resumed from weights of
 * another step.
 */
class TrainingCheckpointPairTest {

    @TempDir
    static Path dir;

    @BeforeAll
    static void corpus() throws Exception {
        TrainingFixtures.prepare(dir, TrainerTest.VOCAB);
    }

    static TrainingOptions options(String name) {
        TrainingOptions o = TrainingFixtures.options(dir, name, TrainingFixtures.tinyShape(TrainerTest.VOCAB));
        o.steps = 8;
        o.checkpointEvery = 2;
        o.evalEvery = 100;
        o.exportBest = false;
        return o;
    }

    static Trainer.Result train(TrainingOptions o) {
        return TrainerTest.train(o);
    }

    static List<String> tensorFiles(Path work) throws Exception {
        try (var files = Files.list(work)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".safetensors")).sorted()
                .toList();
        }
    }

    @Test
    void eachCheckpointIsAConsistentPairAndOlderTensorsGo() throws Exception {
        TrainingOptions o = options("pairs");
        o.stopAfterStep = 5;
        train(o);
        var json = Trainer.readJson(o.workDir().resolve("checkpoint.json"));
        assertThat(json.get("step").getAsInt()).isEqualTo(5);
        assertThat(json.get("tensors").getAsString()).isEqualTo("checkpoint-5.safetensors");
        assertThat(tensorFiles(o.workDir())).containsExactly("checkpoint-5.safetensors");
    }

    @Test
    void aStopRequestedFromAnotherThreadEndsTheRunAtAStepBoundaryWithACheckpoint() throws Exception {
        TrainingOptions o = options("stopped");
        o.steps = 100_000;
        o.checkpointEvery = 100_000;
        Trainer trainer = new Trainer(o, new PrintStream(new ByteArrayOutputStream()), false);
        Thread stopper = new Thread(() -> {
            // Once the run is under way: its loss log has a row.
            Path log = o.workDir().resolve("loss.csv");
            try {
                while (!Files.exists(log) || Files.readAllLines(log).size() < 3) {
                    Thread.sleep(10);
                }
            }
            catch (Exception e) {
                throw new IllegalStateException(e);
            }
            trainer.requestStop();
        });
        stopper.start();
        Trainer.Result r = trainer.run();
        stopper.join();
        assertThat(r.finished()).isFalse();
        assertThat(r.steps()).isBetween(2, 100);
        var json = Trainer.readJson(o.workDir().resolve("checkpoint.json"));
        assertThat(json.get("step").getAsInt()).isEqualTo(r.steps());

        o.resume = true;
        o.steps = r.steps() + 1;
        Trainer.Result resumed = train(o);
        assertThat(resumed.finished()).isTrue();
        assertThat(resumed.steps()).isEqualTo(r.steps() + 1);
    }

    @Test
    void anInconsistentPairIsRefusedNamingBothFiles() throws Exception {
        TrainingOptions o = options("torn");
        o.stopAfterStep = 4;
        train(o);
        Path work = o.workDir();
        // The older layout, torn: checkpoint.json of step 2 (no "tensors"), checkpoint.safetensors of step 4, as a run
        // killed between writing its tensors and its JSON left it.
        Files.move(work.resolve("checkpoint-4.safetensors"), work.resolve(TrainingCheckpoint.LEGACY_TENSORS));
        var json = Trainer.readJson(work.resolve("checkpoint.json"));
        json.addProperty("step", 2);
        json.remove("tensors");
        Files.writeString(work.resolve("checkpoint.json"), json.toString());
        o.resume = true;
        assertThatThrownBy(() -> train(o)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("inconsistent")
            .hasMessageContaining("checkpoint.json is at step 2")
            .hasMessageContaining("checkpoint.safetensors was saved at step 4");

        // The JSON names tensors that are not there.
        json.addProperty("tensors", "checkpoint-2.safetensors");
        Files.writeString(work.resolve("checkpoint.json"), json.toString());
        assertThatThrownBy(() -> train(o)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("incomplete")
            .hasMessageContaining("checkpoint-2.safetensors, which is missing");

        // Put right (the pair of step 4), it resumes.
        Files.move(work.resolve(TrainingCheckpoint.LEGACY_TENSORS), work.resolve("checkpoint-4.safetensors"),
                StandardCopyOption.REPLACE_EXISTING);
        json.addProperty("step", 4);
        json.addProperty("tensors", "checkpoint-4.safetensors");
        Files.writeString(work.resolve("checkpoint.json"), json.toString());
        o.steps = 5;
        assertThat(train(o).finished()).isTrue();
    }
}
