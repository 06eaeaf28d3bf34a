package io.specula.cli;

import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class GenerateCommandTest {

    @TempDir
    Path tmp;

    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    @Test
    void generatesFromPromptIdsAndPrintsTheIds() {
        Path model = TinyModelDirs.llama(tmp.resolve("m"), 5);
        CliRun r = run("generate", "--model", model.toString(), "--prompt-ids", "1,50,60,70", "--max-tokens", "12",
                "--print-ids");
        assertThat(r.code()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        String[] ids = lines[lines.length - 1].trim().split(" ");
        assertThat(ids).hasSizeBetween(1, 12);
        for (String id : ids) {
            assertThat(Integer.parseInt(id)).isNotNegative();
        }
        // Greedy decoding is deterministic: the same command prints the same ids.
        CliRun again = run("generate", "--model", model.toString(), "--prompt-ids", "1,50,60,70", "--max-tokens", "12",
                "--print-ids");
        assertThat(again.out()).isEqualTo(r.out());
    }

    @Test
    void quantizedWeightsGenerateAndABadValueNamesTheOption() {
        Path model = TinyModelDirs.llama(tmp.resolve("m"), 5);
        CliRun r = run("generate", "--model", model.toString(), "--prompt-ids", "1,50,60,70", "--max-tokens", "6",
                "--quantize", "q4_1", "--bench", "--repeat", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("quantized to q4_1 at load", "q4 ", "q8_0 ", "resident memory");
        CliRun bad = run("generate", "--model", model.toString(), "--prompt-ids", "1", "--quantize", "int4");
        assertThat(bad.code()).isEqualTo(1);
        assertThat(bad.err()).contains("--quantize: 'int4' is not a weight quantization");
        CliRun djl = run("generate", "--model", model.toString(), "--prompt-ids", "1", "--quantize", "q8_0",
                "--kernel", "djl");
        assertThat(djl.err()).contains("quantization 'q8_0'", "not on DJL's PyTorch engine");
    }

    @Test
    void textPromptAndBench() {
        Path model = TinyModelDirs.llama(tmp.resolve("m"), 6);
        CliRun r = run("generate", "--model", model.toString(), "--prompt", "The quick brown fox", "--max-tokens", "8",
                "--bench", "--repeat", "1");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("decode:").contains("tokens/s");
    }

    @Test
    void badModelDirectoryIsAnErrorOnStderr() {
        CliRun r = run("generate", "--model", tmp.resolve("missing").toString(), "--prompt", "hi");
        assertThat(r.code()).isNotZero();
        assertThat(r.err()).contains("missing");
    }
}
