package io.specula.cli;

import io.specula.training.TrainingOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code specula distill}: a drafter trained to match a target's next-token distributions. */
@Command(name = "distill", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a (small) model to match a teacher's next-token distributions on the corpus:"
                + " KL(teacher || student) on the teacher's soft labels, the teacher run without gradients.")
final class DistillCommand extends TrainingCommand {

    @Option(names = "--teacher", required = true, description = "The target model folder whose distributions are matched.")
    Path teacher;

    @Option(names = "--temperature", defaultValue = "1", description = "Softens both distributions (default ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--hard-label-weight", defaultValue = "0",
            description = "Adds this times the cross-entropy on the corpus's next tokens (default ${DEFAULT-VALUE}).")
    float hardLabelWeight;

    @Override
    Path tokenizer() {
        return teacher;
    }

    @Override
    void configure(TrainingOptions o) {
        o.teacher = teacher;
        o.temperature = temperature;
        o.hardLabelWeight = hardLabelWeight;
    }
}
