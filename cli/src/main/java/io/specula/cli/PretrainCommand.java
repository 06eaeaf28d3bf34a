package io.specula.cli;

import io.specula.training.TrainingOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code specula pretrain}: a Llama model from scratch on a text corpus. */
@Command(name = "pretrain", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a Llama model from scratch (next-token cross-entropy) with DJL's autograd and export it"
                + " in the Hugging Face layout.")
final class PretrainCommand extends TrainingCommand {

    @Option(names = "--tokenizer", required = true, description = "Folder with tokenizer.json and tokenizer_config.json.")
    Path tokenizer;

    @Override
    Path tokenizer() {
        return tokenizer;
    }

    @Override
    void configure(TrainingOptions o) {
    }
}
