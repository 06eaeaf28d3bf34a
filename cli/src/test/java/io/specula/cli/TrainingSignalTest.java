package io.specula.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.google.gson.JsonParser;
import io.specula.model.safetensors.SafeTensorsFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * SIGTERM to a training process (issue 19, item 6): a real child JVM runs {@code pretrain} on a tiny model and is sent
 * SIGTERM in the middle of its steps (a libtorch backward pass is running most of the time). It must exit without a
 * JVM crash (no hs_err file, the exit status of SIGTERM), having stopped at a step boundary with a checkpoint whose two
 * files agree, from which {@code --resume} continues.
 */
@Timeout(300)
class TrainingSignalTest {

    @TempDir
    Path dir;

    static List<String> java(Path workingDir, String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--add-modules");
        command.add("jdk.incubator.vector");
        command.add("-Dai.djl.offline=true");
        command.add("-Xmx512m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(SpeculaCli.class.getName());
        command.addAll(List.of(args));
        return command;
    }

    @Test
    void sigtermStopsPretrainAtAStepBoundaryWithoutACrash() throws Exception {
        Path train = TrainingCommandsTest.corpus().resolve("valid/austen-persuasion.txt").toAbsolutePath();
        Path valid = TrainingCommandsTest.corpus().resolve("valid/austen-northanger-abbey.txt").toAbsolutePath();
        Path tok = this.dir.resolve("tok");
        assertThat(SpeculaCli.run("train-tokenizer", "--corpus", train.toString(), "--out", tok.toString(),
                "--vocab-size", "400", "--min-char-count", "2")).isZero();
        Path out = this.dir.resolve("model");
        List<String> pretrain = List.of("pretrain", "--train", train.toString(), "--valid", valid.toString(),
                "--tokenizer", tok.toString(), "--out", out.toString(), "--layers", "2", "--hidden", "32", "--heads",
                "4", "--max-positions", "64", "--seq-len", "32", "--batch-size", "2", "--warmup", "2", "--lr", "1e-2",
                "--eval-windows", "2", "--threads", "1", "--log-every", "1");
        List<String> args = new ArrayList<>(pretrain);
        args.addAll(List.of("--steps", "1000000", "--eval-every", "1000000", "--checkpoint-every", "1000000"));
        Path log = this.dir.resolve("pretrain.log");
        Process process = new ProcessBuilder(java(this.dir, args.toArray(String[]::new))).directory(this.dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
        try {
            // Mid-training: a few steps done.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (!read(log).contains("step 5/")) {
                assertThat(process.isAlive()).as(read(log)).isTrue();
                assertThat(System.nanoTime()).as(read(log)).isLessThan(deadline);
                Thread.sleep(20);
            }
            process.destroy(); // SIGTERM
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).as(read(log)).isTrue();
        }
        finally {
            process.destroyForcibly();
        }
        String output = read(log);
        assertThat(process.exitValue()).as(output).isEqualTo(143); // 128 + SIGTERM: an orderly exit, not a crash
        try (var files = Files.list(this.dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("hs_err"));
        }
        assertThat(output).doesNotContain("SIGSEGV").doesNotContain("A fatal error has been detected")
            .contains("asked to exit; stopping at the next step boundary")
            .contains("continue with --resume");

        // The checkpoint is a consistent pair at the step it stopped after.
        Path work = this.dir.resolve("model-work");
        var json = JsonParser.parseString(Files.readString(work.resolve("checkpoint.json"))).getAsJsonObject();
        int step = json.get("step").getAsInt();
        assertThat(step).isGreaterThanOrEqualTo(5);
        assertThat(output).contains("stopped after step " + step + " of");
        try (SafeTensorsFile tensors = SafeTensorsFile.open(work.resolve(json.get("tensors").getAsString()))) {
            assertThat(tensors.metadata().get("step")).isEqualTo(Integer.toString(step));
        }

        // And --resume goes on from it.
        List<String> resume = new ArrayList<>(pretrain);
        resume.addAll(List.of("--steps", Integer.toString(step + 2), "--eval-every", "1000", "--checkpoint-every",
                "1000", "--resume"));
        StringWriter err = new StringWriter();
        CommandLine cli = SpeculaCli.commandLine();
        cli.setOut(new PrintWriter(new StringWriter()));
        cli.setErr(new PrintWriter(err));
        assertThat(cli.execute(resume.toArray(String[]::new))).as(err.toString()).isZero();
        assertThat(out.resolve("model.safetensors")).exists();
    }

    static String read(Path log) throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }
}
