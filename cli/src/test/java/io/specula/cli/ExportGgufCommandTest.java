package io.specula.cli;

import io.specula.testing.TinyModelDirs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class ExportGgufCommandTest {

    @TempDir
    Path tmp;

    @Test
    void exportsAGgufFile() throws Exception {
        Path dir = TinyModelDirs.llama(tmp.resolve("m"), 3);
        Path out = tmp.resolve("m.gguf");
        StringWriter stdout = new StringWriter();
        CommandLine cli = SpeculaCli.commandLine();
        cli.setOut(new PrintWriter(stdout));
        int rc = cli.execute("export-gguf", "--model", dir.toString(), "--out", out.toString(), "--type", "f16");
        assertThat(rc).isZero();
        assertThat(stdout.toString()).contains("wrote", "llama", "21 tensors");
        ByteBuffer head = ByteBuffer.wrap(Files.readAllBytes(out), 0, 8).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(head.getInt()).isEqualTo(0x46554747);
        assertThat(head.getInt()).isEqualTo(3);
    }

    @Test
    void rejectsAnUnknownType() {
        StringWriter err = new StringWriter();
        CommandLine cli = SpeculaCli.commandLine();
        cli.setErr(new PrintWriter(err));
        int rc = cli.execute("export-gguf", "--model", tmp.toString(), "--out", tmp.resolve("x.gguf").toString(),
                "--type", "q4_0");
        assertThat(rc).isEqualTo(1);
        assertThat(err.toString()).contains("GGUF type 'q4_0'").contains("expected f32, f16 or bf16");
    }
}
