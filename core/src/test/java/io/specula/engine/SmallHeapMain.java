package io.specula.engine;

import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.generate.SamplingParams;
import io.specula.speculative.SpeculationSettings;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Run by {@link MemoryBoundsTest} in a child JVM with a small heap: loads a model with a huge
 * max_position_embeddings for a 32 k context and prefills a 30 k-token prompt, then prints the answer's token ids.
 *
 * <p>Arguments: model directory, context tokens, prompt tokens, prefill chunk.
 */
public final class SmallHeapMain {

    private SmallHeapMain() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int context = Integer.parseInt(args[1]);
        int promptTokens = Integer.parseInt(args[2]);
        int chunk = Integer.parseInt(args[3]);
        ServingLimits limits = new ServingLimits(1, 0, Duration.ZERO, 0, 0).withPrefillChunkTokens(chunk);
        EngineConfig config = new EngineConfig(dir, null, "cpu", "auto", context, "auto", limits, false);
        try (SpeculaEngine engine = SpeculaEngine.load(config)) {
            int[] prompt = new int[promptTokens];
            for (int i = 0; i < promptTokens; i++) {
                prompt[i] = 3 + (i * 7919) % 200;
            }
            GenerationResult r = engine.generate(GenerationRequest.of(prompt, 8, SamplingParams.GREEDY),
                    SpeculationSettings.OFF, null);
            System.out.println("tokens " + java.util.Arrays.toString(r.tokenIds()));
            System.out.println("heap " + (Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory()));
        }
    }
}
