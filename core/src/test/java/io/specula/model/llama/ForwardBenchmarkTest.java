package io.specula.model.llama;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The benchmark's options and one tiny run of both backends, so the CLI's entry point keeps working. */
class ForwardBenchmarkTest {

    @Test
    void parsesOptions() {
        ForwardBenchmark.Options o = ForwardBenchmark.Options.parse("--sizes", "2x128,4X256", "--positions", "1,3",
                "--reps", "2", "--dtype", "fp16", "--device", "gpu", "--backends", "djl", "--clock", "cpu", "--threads", "1", "--kernel", "scalar");
        assertThat(o.sizes()).hasSize(2);
        assertThat(o.sizes().get(1)).containsExactly(4, 256);
        assertThat(o.positions()).containsExactly(1, 3);
        assertThat(o.dtype()).isEqualTo(DataType.FLOAT16);
        assertThat(o.device()).isEqualTo(Device.gpu());
        assertThat(o.backends()).containsExactly("djl");
        assertThat(o.cpuClock()).isTrue();
        assertThat(o.threads()).isEqualTo(1);
        assertThat(o.kernel()).isEqualTo("scalar");
        assertThatThrownBy(() -> ForwardBenchmark.Options.parse("--reps")).hasMessageContaining("missing value");
        assertThatThrownBy(() -> ForwardBenchmark.Options.parse("--bogus", "1")).hasMessageContaining("unknown option");
    }

    @Test
    void timesBothBackendsOnATinyModel() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ForwardBenchmark.run(ForwardBenchmark.Options.parse("--sizes", "1x64", "--positions", "1,3", "--reps", "1",
                "--context", "4", "--decode", "2"), new PrintStream(bytes, true, StandardCharsets.UTF_8));
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out).contains("1x64:", "java-", "djl-cpu-float32", "decode tok/s");
    }
}
