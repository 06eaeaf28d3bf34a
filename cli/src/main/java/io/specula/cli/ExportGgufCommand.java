package io.specula.cli;

import io.specula.gguf.GgufExporter;
import io.specula.gguf.GgufWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code specula export-gguf}: a Hugging Face model directory to a GGUF file for llama.cpp. */
@Command(name = "export-gguf", mixinStandardHelpOptions = true,
        description = "Convert a Hugging Face model directory (Llama, Mistral, Qwen2, Qwen3) to GGUF v3 for llama.cpp, "
                + "as llama.cpp's convert_hf_to_gguf.py would.")
final class ExportGgufCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, description = "Hugging Face model directory (config.json, *.safetensors, tokenizer.json).")
    Path model;

    @Option(names = "--out", required = true, description = "GGUF file to write.")
    Path out;

    @Option(names = "--type", defaultValue = "f32", description = "Type of the weight matrices: f32, f16 or bf16 (norms and biases stay f32); default ${DEFAULT-VALUE}.")
    String type;

    @Override
    public Integer call() {
        GgufWriter.TensorType t = GgufExporter.parseType(type);
        GgufWriter w = GgufExporter.export(model, out, t);
        spec.commandLine().getOut().printf("wrote %s: %s, %d tensors, %d metadata keys, %d bytes%n", out,
                w.metadata().get("general.architecture").value(), w.tensorNames().size(), w.metadata().size(),
                sizeOf(out));
        spec.commandLine().getOut().flush();
        return 0;
    }

    private static long sizeOf(Path p) {
        try {
            return Files.size(p);
        } catch (java.io.IOException e) {
            return -1;
        }
    }
}
