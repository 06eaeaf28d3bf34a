package io.specula.cli;

import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class BenchCommandTest {

    @TempDir
    Path tmp;

    @Test
    void printsPlainAndSpeculativeFiguresInOneRun() {
        Path target = TinyModelDirs.llama(tmp.resolve("t"), 11);
        Path drafter = TinyModelDirs.write(tmp.resolve("d"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = SpeculaCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int code = cli.execute("bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--max-tokens", "16", "--repeat", "1", "--policy", "fixed");
        assertThat(code).as(err.toString()).isZero();
        assertThat(out.toString()).contains("plain").contains("fixed γmax=4").contains("theoretical");
    }

    @Test
    void quantizesTargetAndDrafterApartAndRejectsBadValuesNamingTheOption() {
        Path target = TinyModelDirs.llama(tmp.resolve("t"), 11);
        Path drafter = TinyModelDirs.write(tmp.resolve("d"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        CliRun r = CliRun.run("bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--max-tokens", "8", "--repeat", "1", "--quantize", "q8_0", "--drafter-quantize", "q4_1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("quantized to q8_0 at load").contains("plain");

        CliRun bad = CliRun.run("bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--drafter-quantize", "q2_k");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("--drafter-quantize: 'q2_k' is not a weight quantization; expected none, "
                + "q8_0, q4_0 or q4_1");
    }

    @Test
    void theoreticalSpeedupFollowsLeviathan() {
        // α = 0.8, γ = 4, c = 0.1: (1 - 0.8^5) / (0.2 * 1.4) = 0.67232 / 0.28 = 2.4011
        assertThat(BenchCommand.theoreticalSpeedup(0.8, 4, 0.1)).isCloseTo(2.4011, within(1e-3));
        assertThat(BenchCommand.theoreticalSpeedup(1.0, 4, 0)).isEqualTo(5.0);
        assertThat(BenchCommand.theoreticalSpeedup(0.5, 0, 0.1)).isEqualTo(1.0);
    }
}
