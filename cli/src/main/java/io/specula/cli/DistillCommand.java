package io.specula.cli;

import io.specula.SpeculaException;
import io.specula.adaptive.AdaptiveConfig;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.adaptive.AdaptiveDrafter;
import io.specula.engine.EngineConfig;
import io.specula.engine.ServingLimits;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.training.ModelExport;
import io.specula.training.TrainingOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * {@code specula distill}: a drafter trained to match a target's next-token distributions, on the corpus (the
 * {@link io.specula.training.Trainer}), or with {@code --prompts} on the target's own outputs for a prompt file, through
 * the adaptive drafter's code ({@link AdaptiveDrafter}: the same collection, fine-tuning, held-out judging and export
 * as online adaptation).
 */
@Command(name = "distill", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a (small) model to match a teacher's next-token distributions on the corpus:"
                + " KL(teacher || student) on the teacher's soft labels, the teacher run without gradients."
                + " With --prompts: generate the teacher's outputs for those prompts and fine-tune --init-from on"
                + " them (the adaptive drafter's trainer).")
final class DistillCommand extends TrainingCommand {

    @Option(names = "--prompts", description = "One prompt per line: distil on the teacher's greedy outputs for them"
            + " (needs --init-from; --steps, --lr, --batch-size, --seq-len and --seed apply; the shape options do not).")
    Path prompts;

    @Option(names = "--max-tokens", defaultValue = "128", description = "With --prompts: tokens generated per prompt (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--top-k", defaultValue = "16", description = "With --prompts: entries of the teacher's distribution kept per position (default ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--steps-per-round", defaultValue = "50", description = "With --prompts: steps between held-out judgements; a round that scores lower is discarded (default ${DEFAULT-VALUE}).")
    int stepsPerRound;

    @Option(names = "--teacher", required = true, description = "The target model folder whose distributions are matched.")
    Path teacher;

    @Option(names = "--temperature", defaultValue = "1", description = "Softens both distributions (default ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--hard-label-weight", defaultValue = "0",
            description = "Adds this times the cross-entropy on the corpus's next tokens (default ${DEFAULT-VALUE}).")
    float hardLabelWeight;

    @Override
    public Integer call() {
        return prompts == null ? super.call() : distillOnPrompts();
    }

    private int distillOnPrompts() {
        if (initFrom == null) {
            throw new IllegalArgumentException("--prompts needs --init-from: the drafter to fine-tune");
        }
        ModelExport.checkOutputFolder(out, "--out");
        System.setProperty("ai.djl.pytorch.num_threads", threads != null ? threads.toString() : "1");
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        PrintWriter w = spec.commandLine().getOut();
        List<String> texts = PromptFiles.lines(prompts, "--prompts");
        AdaptiveConfig.Loss loss = hardLabelWeight > 0 ? AdaptiveConfig.Loss.CROSS_ENTROPY : AdaptiveConfig.Loss.KL;
        // The background trainer stays idle (an hour's interval): the rounds run here, one after the other.
        AdaptiveConfig config = AdaptiveConfig.defaults()
                .withSchedule(Duration.ofHours(1), 1, 1.0)
                .withTraining(batchSize, lr, stepsPerRound)
                .withBuffer(1_000_000, 0.1, 1, topK, seqLen, loss)
                .withSeed(seed);
        // On SIGTERM the engine closes (the update under way stops at its next training step) before the JVM exits.
        EngineConfig engineConfig = EngineConfig.of(teacher, initFrom.toString())
                .withLimits(ServingLimits.DEFAULT.withShutdownGracePeriod(Duration.ZERO));
        try (SpeculaEngine engine = SpeculaEngine.load(engineConfig, config);
             StopOnShutdown guard = StopOnShutdown.install("distill", engine::close)) {
            AdaptiveDrafter adaptive = engine.adaptive().orElseThrow();
            long t0 = System.nanoTime();
            long tokens = 0;
            for (String p : texts) {
                if (guard.requested()) {
                    break;
                }
                try {
                    tokens += engine.generate(GenerationRequest.of(engine.tokenizer().encode(p), maxTokens,
                            SamplingParams.GREEDY), new SpeculationSettings(true, 4, DraftPolicy.FIXED), null)
                            .completionTokens();
                } catch (SpeculaException e) {
                    if (guard.requested()) {
                        break;
                    }
                    throw e;
                }
            }
            w.printf(Locale.ROOT, "generated %,d tokens for %d prompts in %.1f s: %d training and %d held-out"
                            + " windows%n", tokens, texts.size(), (System.nanoTime() - t0) / 1e9,
                    adaptive.buffer().trainingSize(), adaptive.buffer().heldOutSize());
            int rounds = Math.max(1, (steps + stepsPerRound - 1) / stepsPerRound);
            for (int r = 0; r < rounds; r++) {
                if (guard.requested()) {
                    w.println("stopped: asked to exit; nothing exported");
                    w.flush();
                    return 1;
                }
                AdaptiveDrafter.UpdateResult u = adaptive.update(Math.min(stepsPerRound, steps - r * stepsPerRound));
                w.printf(Locale.ROOT, "round %d: %s, loss %.4f, held-out acceptance %.4f -> %.4f%s%n", r + 1,
                        u.outcome().name().toLowerCase(Locale.ROOT), u.loss(), u.servingScore(), u.candidateScore(),
                        u.message() == null ? "" : " (" + u.message() + ")");
                w.flush();
            }
            if (guard.requested()) {
                w.println("stopped: asked to exit; nothing exported");
                w.flush();
                return 1;
            }
            int version = adaptive.export(out);
            w.printf(Locale.ROOT, "exported %s: version %d of %s (%d of %d rounds kept)%n", this.out, version,
                    initFrom, adaptive.updatesAccepted(), rounds);
            w.flush();
        }
        return 0;
    }

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
