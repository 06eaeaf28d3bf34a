package io.specula.cli;

import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code specula loadtest} on tiny models: a one-second smoke run in the default suite, and the benchmark run behind
 * {@code -Dspecula.loadtest="--clients 8 --seconds 30 ..."} (not in the default suite; see docs/operations.md).
 */
class LoadTestCommandTest {

    @TempDir
    Path tmp;

    /** A Qwen2-style target with a chat template, and a smaller drafter with other weights (drafts get rejected). */
    static Path[] models(Path dir, int hidden, int layers) {
        int bos = TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, "<|endoftext|>");
        Path target = TinyModelDirs.write(dir.resolve("target"), TinyModels.Family.QWEN2,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN,
                s -> s.seed(7).bos(bos).hiddenSize(hidden).intermediateSize(2 * hidden).layers(layers));
        Path drafter = TinyModelDirs.write(dir.resolve("drafter"), TinyModels.Family.QWEN2,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, s -> s.seed(8).bos(bos).layers(1));
        return new Path[] {target, drafter};
    }

    static String[] run(List<String> args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = SpeculaCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute(args.toArray(String[]::new));
        return new String[] {Integer.toString(code), out.toString(), err.toString()};
    }

    @Test
    void aShortRunCompletesRequestsThatEqualTheTargetOnlyAnswers() {
        Path[] m = models(tmp, 64, 2);
        String[] r = run(List.of("loadtest", "--target", m[0].toString(), "--drafter", m[1].toString(), "--clients",
                "4", "--seconds", "1", "--disconnect-fraction", "0.3", "--max-tokens", "8",
                "--max-concurrent-requests", "2", "--max-queued-requests", "1", "--queue-timeout-ms", "2000"));
        assertThat(r[0]).as(r[2] + r[1]).isEqualTo("0");
        assertThat(r[1]).contains("requests:").contains("latency (completed): p50").contains("tokens/s:")
            .contains("RSS:").containsPattern("correctness: (\\d+) of \\1 completed")
            .contains("engine after the run: 0 in flight, 0 queued, 0 bytes");
    }

    @Test
    void boundsAreChecked() {
        Path[] m = models(tmp, 64, 1);
        String[] r = run(List.of("loadtest", "--target", m[0].toString(), "--clients", "1000"));
        assertThat(r[0]).isNotEqualTo("0");
        assertThat(r[2]).contains("--clients");
    }

    /** The benchmark: {@code -Dspecula.loadtest="--clients 8 --seconds 30 --disconnect-fraction 0.2"}. */
    @Test
    @EnabledIfSystemProperty(named = "specula.loadtest", matches = ".*")
    void benchmark() {
        Path[] m = models(Path.of("target", "loadtest-models").toAbsolutePath(), 256, 4);
        List<String> args = new ArrayList<>(List.of("loadtest", "--target", m[0].toString(), "--drafter",
                m[1].toString()));
        args.addAll(List.of(System.getProperty("specula.loadtest").trim().split("\\s+")));
        String[] r = run(args);
        System.out.println("$ specula " + String.join(" ", args));
        System.out.print(r[1]);
        System.out.print(r[2]);
        assertThat(r[0]).isEqualTo("0");
    }
}
