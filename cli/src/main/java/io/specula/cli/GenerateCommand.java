package io.specula.cli;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.PlainGenerator;
import io.specula.generate.SamplingParams;
import io.specula.model.Quantization;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code specula generate}: plain target decoding of one prompt, streamed to stdout; {@code --bench} times it. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text with one model (target-only decoding), streaming it to stdout.")
final class GenerateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "A Hugging Face model directory (config.json, *.safetensors, tokenizer.json), a .gguf file, or ollama:NAME[:TAG] for a model Ollama has pulled (its folder: OLLAMA_MODELS or -Dspecula.ollama.models).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    PromptOptions prompt;

    static final class PromptOptions {
        @Option(names = "--prompt", description = "Prompt text, tokenized as the model's tokenizer says (BOS added if it adds one).")
        String text;

        @Option(names = "--prompt-ids", split = ",", description = "Prompt token ids, used as given (no BOS added).")
        int[] ids;
    }

    @Option(names = "--max-tokens", defaultValue = "64", description = "Most tokens to generate (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = all.")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling threshold in (0, 1].")
    double topP;

    @Option(names = "--seed", description = "Seed for reproducible sampling.")
    Long seed;

    @Option(names = "--print-ids", description = "End with one line holding the generated token ids.")
    boolean printIds;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, cuda, cuda:N or auto (default ${DEFAULT-VALUE}).")
    String device;

    @Option(names = "--kernel", defaultValue = "auto", description = "CPU matrix kernel: auto, vector, scalar or djl (default ${DEFAULT-VALUE}).")
    String kernel;

    @Option(names = "--quantize", defaultValue = "none",
            description = "Weights on the CPU kernels: none (as the checkpoint stores them), q8_0, q4_0 or q4_1 "
                    + "(default ${DEFAULT-VALUE}; see docs/quantization.md).")
    String quantize;

    @Option(names = "--bench", description = "Time prompt processing and decoding instead of printing text.")
    boolean bench;

    @Option(names = "--repeat", defaultValue = "3", description = "With --bench: repetitions (the median is reported).")
    int repeat;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Quantization quantization = Quantization.parse("--quantize", quantize);
        long loadStart = System.nanoTime();
        try (LoadedModel loaded = ModelLoader.load(model, device, "auto", kernel, quantization)) {
            long loadNanos = System.nanoTime() - loadStart;
            int[] promptIds = prompt.ids != null ? prompt.ids : loaded.tokenizer().encode(prompt.text);
            SamplingParams sampling = new SamplingParams(temperature, topK, topP, seed, 0, 0);
            PlainGenerator generator = new PlainGenerator(loaded.model(), loaded.tokenizer(), loaded.eosIds(),
                    loaded.config().maxPositionEmbeddings(), null);
            GenerationRequest request = GenerationRequest.of(promptIds, maxTokens, sampling);
            if (bench) {
                return GenerateBenchmark.run(out, loaded, generator, request, repeat, loadNanos);
            }
            GenerationResult result = generator.generate(request, (id, delta, source) -> {
                out.print(delta);
                out.flush();
            });
            out.println();
            if (printIds) {
                out.println(Arrays.stream(result.tokenIds()).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
            }
            out.flush();
            return 0;
        }
    }
}
