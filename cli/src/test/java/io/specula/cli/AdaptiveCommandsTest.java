package io.specula.cli;

import io.specula.engine.EngineConfig;
import io.specula.engine.SpeculaEngine;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code distill --prompts} and {@code adapt-bench} wired end to end on tiny random models. */
class AdaptiveCommandsTest {

    @TempDir
    Path tmp;

    String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = SpeculaCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args);
        assertThat(code).as(out + "\n" + err).isZero();
        return out.toString();
    }

    @Test
    void distillOnPromptsThenAdaptBench() throws Exception {
        Path target = TinyModelDirs.llama(tmp.resolve("t"), 11);
        Path drafter = TinyModelDirs.write(tmp.resolve("d"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        Path prompts = Files.writeString(tmp.resolve("prompts.txt"),
                "the cat sat\non the mat\nand then it\nran away from\nthe big dog\nwho was not\n");
        Path out = tmp.resolve("adapted");
        String text = run("distill", "--teacher", target.toString(), "--init-from", drafter.toString(),
                "--prompts", prompts.toString(), "--out", out.toString(), "--steps", "4", "--steps-per-round", "2",
                "--batch-size", "2", "--max-tokens", "12", "--seq-len", "32", "--lr", "1e-2");
        assertThat(text).contains("generated").contains("round 2").contains("exported");
        assertThat(out.resolve("config.json")).exists();
        assertThat(out.resolve("model.safetensors")).exists();
        assertThat(out.resolve("adaptive.json")).exists();
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, out.toString()))) {
            assertThat(engine.hasDrafter()).isTrue();
        }

        Path a = Files.writeString(tmp.resolve("a.txt"), "one two three four five six seven eight nine ten ".repeat(8));
        Path b = Files.writeString(tmp.resolve("b.txt"), "red green blue yellow purple orange black white ".repeat(8));
        Path svg = tmp.resolve("chart.svg");
        String bench = run("adapt-bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--segment", a + ":4", "--segment", b + ":4", "--words", "4", "--max-tokens", "8",
                "--update-every", "4", "--steps-per-update", "2", "--min-held-out", "1", "--held-out", "0.5",
                "--svg", svg.toString());
        assertThat(bench).contains("static α").contains("adaptive α").contains("update").contains("differing")
            .contains(": 0 (must be 0");
        assertThat(Files.readString(svg)).startsWith("<svg").contains("adaptive drafter");
    }

    @Test
    void adaptBenchWithATargetUpdateAndTheBackgroundTrainer() throws Exception {
        Path target = TinyModelDirs.llama(tmp.resolve("t"), 11);
        Path target2 = TinyModelDirs.llama(tmp.resolve("t2"), 13);
        Path drafter = TinyModelDirs.write(tmp.resolve("d"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        Path a = Files.writeString(tmp.resolve("a.txt"), "one two three four five six seven eight nine ten ".repeat(8));
        Path svg = tmp.resolve("chart.svg");
        String bench = run("adapt-bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--segment", a + ":12", "--words", "4", "--max-tokens", "8", "--target-update", "6:" + target2,
                "--background-share", "0.5", "--update-interval", "PT0.05S", "--update-every", "2",
                "--steps-per-update", "2", "--min-held-out", "1", "--held-out", "0.5", "--recovery-window", "3",
                "--recovery-requests", "6", "--svg", svg.toString());
        assertThat(bench).contains("before request   6: target version 2").contains("background trainer at 0.50")
            .contains("target update before request 6: adaptive α").contains(": 0 (must be 0");
        assertThat(Files.readString(svg)).contains("target v2");
    }

    @Test
    void adaptBenchRunsOneEngineAloneForTheTrainersCost() throws Exception {
        Path target = TinyModelDirs.llama(tmp.resolve("t"), 11);
        Path target2 = TinyModelDirs.llama(tmp.resolve("t2"), 13);
        Path drafter = TinyModelDirs.write(tmp.resolve("d"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        Path a = Files.writeString(tmp.resolve("a.txt"), "one two three four five six seven eight nine ten ".repeat(8));
        String[] common = { "adapt-bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--segment", a + ":8", "--words", "4", "--max-tokens", "8", "--target-update", "4:" + target2,
                "--background-share", "0.5", "--update-interval", "PT0.05S", "--update-every", "2",
                "--steps-per-update", "2", "--min-held-out", "1", "--held-out", "0.5", "--recovery-window", "2",
                "--recovery-requests", "4", "--shuffle", "3" };
        String still = run(concat(common, "--engines", "static"));
        assertThat(still).contains("before request   4: target version 2").contains("static engine alone")
            .contains("outputs not compared: static engine alone").doesNotContain("recovered");
        String adapting = run(concat(common, "--engines", "adaptive", "--pause-blocks", "2"));
        assertThat(adapting).containsPattern("trainer cost, blocks of 2 requests: adaptive engine median \\d+ tokens/s"
                + " over 4 requests with the trainer training, \\d+ over 4 with it paused: [-+]\\d+\\.\\d%; median of 2"
                + " block pairs' ratios [-+]\\d+\\.\\d%");
        assertThat(adapting).contains("before request   4: target version 2").contains("(adaptive engine alone)")
            .contains("target update before request 4: adaptive α")
            .contains("outputs not compared: adaptive engine alone");
    }

    private static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
