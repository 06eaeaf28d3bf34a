package io.specula.cli;

import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The two kernel benchmarks run end to end on tiny inputs and reject bad options naming them. */
class BenchKernelsAndForwardTest {

    @TempDir
    Path tmp;

    private static CliRun run(String... args) {
        return CliRun.run(args);
    }

    @Test
    void benchForwardTimesBothBackendsOnATinyRandomModel() {
        CliRun r = run("bench-forward", "--sizes", "1x64", "--positions", "1,3", "--reps", "1", "--context", "4",
                "--decode", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("1x64:", "java-", "djl-cpu-float32", "decode tok/s");
    }

    @Test
    void benchForwardTimesAQuantizedModelDirectory() {
        Path model = TinyModelDirs.llama(tmp.resolve("m"), 5);
        CliRun r = run("bench-forward", "--model", model.toString(), "--quantize", "q8_0", "--positions", "1,2",
                "--reps", "1", "--context", "4", "--decode", "2");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("java-q8_0", "weights ", "decode tok/s");
    }

    @Test
    void benchForwardRejectsBadOptions() {
        assertThat(run("bench-forward", "--quantize", "q3").err()).contains("--quantize: 'q3' is not a weight "
                + "quantization; expected none, q8_0, q4_0 or q4_1");
        assertThat(run("bench-forward", "--clock", "sun").err()).contains("--clock sun: expected wall or cpu");
        assertThat(run("bench-forward", "--backends", "tpu").err()).contains("unknown backend tpu");
        assertThat(run("bench-forward", "--weights", "f8", "--backends", "java").err())
                .contains("--weights f8: expected f32, f16 or bf16");
    }

    @Test
    void benchKernelsTimesEveryFormat() {
        CliRun r = run("bench-kernels", "--shape", "1x64", "--formats", "f32,f16,bf16,q8_0,q4_0,q4_1", "--positions",
                "1,5", "--rounds", "1", "--warmup-seconds", "0");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("q4_1", "bf16", "GB/s T=1");
        assertThat(run("bench-kernels", "--formats", "q2").err()).contains("--formats: 'q2' is not a format");
    }
}
