package io.specula.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code specula} command line: generation, benchmarks, training and export. */
@Command(name = "specula", mixinStandardHelpOptions = true, version = "specula 0.1.0",
        description = "Speculative decoding with local language models.",
        subcommands = {GenerateCommand.class, BenchCommand.class, LoadTestCommand.class, TrainTokenizerCommand.class,
                PretrainCommand.class, DistillCommand.class, ExportGgufCommand.class, AdaptBenchCommand.class,
                KernelBenchCommand.class, ForwardBenchCommand.class, PerplexityCommand.class, BatchBenchCommand.class})
public final class SpeculaCli {

    public static void main(String[] args) {
        // Nothing may download libtorch at run time: the CPU build comes from Maven Central with the jar.
        if (System.getProperty("ai.djl.offline") == null) {
            System.setProperty("ai.djl.offline", "true");
        }
        // DJL warns on every start that it found no CUDA driver; on a CPU machine that is expected, not news.
        if (System.getProperty("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils") == null) {
            System.setProperty("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
        }
        System.exit(run(args));
    }

    /** Runs a command and returns its exit code (tests call this instead of main). */
    public static int run(String... args) {
        return commandLine().execute(args);
    }

    /** The command line with its error handling: a failure prints one clear line on stderr and exits 1. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new SpeculaCli());
        cli.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + ex.getMessage());
            cmd.getErr().flush();
            return 1;
        });
        return cli;
    }
}
