package io.specula.cli;

import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class BatchBenchCommandTest {

    @TempDir
    Path tmp;

    @Test
    void printsOwnAndSharedPassesAtEachConcurrencyAndChecksTheOutputs() {
        Path target = TinyModelDirs.llama(tmp.resolve("t"), 11);
        Path drafter = TinyModelDirs.write(tmp.resolve("d"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(12).layers(1));
        CliRun r = CliRun.run("batch-bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--concurrency", "1,3", "--max-tokens", "8", "--repeat", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("aggr tok/s").contains("seq/tpass").contains("outputs different from the target's own greedy output: 0");
        assertThat(r.out().lines().filter(l -> l.matches("3 +speculative +shared .*"))).hasSize(1);
        assertThat(r.out().lines().filter(l -> l.matches("1 +plain +own .*"))).hasSize(1);

        CliRun bad = CliRun.run("batch-bench", "--target", target.toString(), "--drafter", drafter.toString(),
                "--concurrency", "0");
        assertThat(bad.code()).isNotZero();
        assertThat(bad.err()).contains("--concurrency in 1..64");
    }
}
