package io.specula.cli;

import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The training commands wired end to end on a few kilobytes of the corpus: tokenizer, pretrain, distill. */
class TrainingCommandsTest {

    static Path corpus() {
        for (Path p : List.of(Path.of("samples/models/corpus"), Path.of("../samples/models/corpus"))) {
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        throw new IllegalStateException("samples/models/corpus not found");
    }

    @Test
    void tokenizerThenPretrainThenDistill(@TempDir Path dir) throws Exception {
        // The held-out Persuasion text (21 KB) trains, the held-out Northanger Abbey text validates.
        Path train = corpus().resolve("valid/austen-persuasion.txt");
        Path valid = corpus().resolve("valid/austen-northanger-abbey.txt");
        Path tok = dir.resolve("tok");
        assertThat(SpeculaCli.run("train-tokenizer", "--corpus", train.toString(), "--out", tok.toString(),
                "--vocab-size", "400", "--min-char-count", "2")).isEqualTo(0);
        assertThat(tok.resolve("tokenizer.json")).exists();
        assertThat(TrainingCommand.vocabularySize(tok.resolve("tokenizer.json"))).isEqualTo(400);

        Path target = dir.resolve("target");
        assertThat(SpeculaCli.run("pretrain", "--train", train.toString(), "--valid", valid.toString(),
                "--tokenizer", tok.toString(), "--out", target.toString(),
                "--layers", "2", "--hidden", "32", "--heads", "4", "--kv-heads", "2", "--max-positions", "64",
                "--seq-len", "32", "--batch-size", "2", "--steps", "6", "--warmup", "2", "--lr", "1e-2",
                "--eval-every", "3", "--checkpoint-every", "3", "--eval-windows", "4", "--threads", "1")).isEqualTo(0);
        var config = JsonParser.parseString(Files.readString(target.resolve("config.json"))).getAsJsonObject();
        assertThat(config.get("architectures").getAsJsonArray().get(0).getAsString()).isEqualTo("LlamaForCausalLM");
        assertThat(config.get("torch_dtype").getAsString()).isEqualTo("float16");
        assertThat(config.get("intermediate_size").getAsInt()).isEqualTo(64); // 2.75 x 32, rounded to 64
        assertThat(config.get("vocab_size").getAsInt()).isEqualTo(400);
        assertThat(target.resolve("model.safetensors")).exists();
        assertThat(dir.resolve("target-work/checkpoint.json")).exists();

        Path drafter = dir.resolve("drafter");
        assertThat(SpeculaCli.run("distill", "--teacher", target.toString(), "--train", train.toString(),
                "--valid", valid.toString(), "--out", drafter.toString(),
                "--layers", "1", "--hidden", "16", "--heads", "2", "--max-positions", "64",
                "--seq-len", "32", "--batch-size", "2", "--steps", "4", "--warmup", "1", "--lr", "1e-2",
                "--eval-every", "2", "--checkpoint-every", "2", "--eval-windows", "2")).isEqualTo(0);
        var info = JsonParser.parseString(Files.readString(drafter.resolve("training_info.json"))).getAsJsonObject();
        assertThat(info.get("kind").getAsString()).isEqualTo("distill");
        assertThat(drafter.resolve("tokenizer.json")).hasSameTextualContentAs(target.resolve("tokenizer.json"));
    }

    @Test
    void anOutputFolderThatIsNotAModelIsRefusedBeforeAnyWork(@TempDir Path dir) throws Exception {
        Path users = Files.createDirectories(dir.resolve("documents"));
        Files.writeString(users.resolve("notes.txt"), "mine");
        java.io.StringWriter err = new java.io.StringWriter();
        picocli.CommandLine cli = SpeculaCli.commandLine();
        cli.setErr(new java.io.PrintWriter(err));
        assertThat(cli.execute("pretrain", "--tokenizer", dir.toString(), "--out", users.toString())).isEqualTo(1);
        assertThat(err.toString()).contains("--out " + users).contains("not empty");
        assertThat(users.resolve("notes.txt")).hasContent("mine");

        // distill --out . (it once deleted the working directory's contents): refused before the models load.
        java.io.StringWriter err2 = new java.io.StringWriter();
        picocli.CommandLine distill = SpeculaCli.commandLine();
        distill.setErr(new java.io.PrintWriter(err2));
        assertThat(distill.execute("distill", "--teacher", dir.resolve("none").toString(), "--init-from",
                dir.resolve("none").toString(), "--prompts", dir.resolve("none.txt").toString(), "--out", "."))
            .isEqualTo(1);
        assertThat(err2.toString()).contains("--out .").contains("working directory");
    }
}
