package io.specula.gguf;

import io.specula.model.safetensors.DType;
import io.specula.testing.GoldenFixtures;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Gemma 3 and Phi-3 GGUF fixtures made by llama.cpp's own converter ({@code convert_hf_to_gguf.py}, b11669) from tiny
 * Hugging Face directories, committed under {@code core/src/test/resources/gguf/} by
 * {@code scripts/make-converted-gguf-fixtures.sh} (CI does not run llama.cpp). Each is written at the checkpoint's
 * precision ({@code --outtype} f16 or bf16), so the GGUF load must give the same network as the directory's.
 *
 * <ul>
 *   <li>{@code gemma3-bf16-converted}: a Gemma 3 that GGUF can describe completely, unlike the golden fixtures (the
 *       converter writes no layer pattern and no {@code query_pre_attn_scalar}, and refuses
 *       {@code attn_logit_softcapping}): 7 layers, llama.cpp's pattern (layers 0-4 sliding with a window of 4, 5
 *       global, 6 sliding), {@code query_pre_attn_scalar} = head_dim 32, local and global rope bases, linear scaling 8
 *       on the global layer, final logit softcapping 6, tied, BF16;</li>
 *   <li>{@code phi3-f16-longrope} and {@code phi4mini-bf16-tied}: the golden fixtures of those names
 *       ({@link GoldenFixtures}): fused qkv and gate_up, longrope (Phi-4-mini's switching during decoding), partial
 *       rotary, Phi-3's sliding window, tied output.</li>
 * </ul>
 */
public final class ConvertedGgufFixtures {

    /**
     * One fixture: the model directory, the converter's {@code --outtype}, and, when llama.cpp computes the file as
     * transformers computes the directory, the end-of-generation ids to ban when the script records llama-server's
     * greedy ids ({@code null}: not recorded; Phi-3's sliding window and longrope llama.cpp computes differently,
     * docs/llamacpp.md).
     */
    public record Fixture(String name, GoldenFixtures.Fixture model, String outType, List<Integer> llamaCppBanned) {

        /** The committed GGUF file. */
        public Path file() {
            return GgufFixtures.resource(name + ".gguf");
        }

        /** llama-server's greedy ids on {@link #prompt()}, recorded next to the file. */
        public Path llamaCppResults() {
            return GgufFixtures.resource(name + ".llamacpp.json");
        }

        public int[] prompt() {
            return model.prompt();
        }

        /** Writes the Hugging Face directory the file was converted from (deterministic: the same bytes each time). */
        public Path writeModel(Path dir) {
            return model.writeTo(dir);
        }
    }

    public static final Fixture GEMMA3 = new Fixture("gemma3-bf16-converted", new GoldenFixtures.Fixture(
            "gemma3-bf16-converted", "Gemma 3 in llama.cpp's layer pattern, for llama.cpp's converter",
            Family.GEMMA3, TokenizerKind.GEMMA, ChatTemplateKind.NONE,
            s -> s.seed(623).hiddenSize(64).intermediateSize(64).layers(7).slidingWindowPattern(6)
                    .queryPreAttnScalar(32).transformers5Layout(true).ropeLinearFactor(8.0).softcapping(6.0, null)
                    .dtype(DType.BF16).eos(
                            TinyTokenizers.tokenId(TokenizerKind.GEMMA, ChatTemplateKind.NONE, "<eos>"))),
            "bf16", List.of(TinyTokenizers.tokenId(TokenizerKind.GEMMA, ChatTemplateKind.NONE, "<eos>")));
    public static final Fixture PHI3 = new Fixture("phi3-f16-longrope",
            GoldenFixtures.named("phi3-f16-longrope"), "f16", null);
    public static final Fixture PHI4_MINI = new Fixture("phi4mini-bf16-tied",
            GoldenFixtures.named("phi4mini-bf16-tied"), "bf16", null);
    /** Greedy steps llama-server is asked for. */
    public static final int LLAMA_CPP_TOKENS = 40;

    public static final List<Fixture> ALL = List.of(GEMMA3, PHI3, PHI4_MINI);

    private ConvertedGgufFixtures() {
    }

    /**
     * Writes {@code WORK/NAME/} for each fixture and prints {@code NAME OUTTYPE PROMPT BANNED} lines for the script
     * (the prompt and the end-of-generation ids as JSON arrays; BANNED is {@code -} when llama.cpp is not recorded).
     */
    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ConvertedGgufFixtures WORK_DIR");
        }
        Path work = Path.of(args[0]);
        for (Fixture f : ALL) {
            Path dir = work.resolve(f.name());
            if (Files.exists(dir)) {
                try (Stream<Path> s = Files.walk(dir)) {
                    for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
            f.writeModel(dir);
            System.out.println(f.name() + " " + f.outType() + " " + Arrays.toString(f.prompt()).replace(" ", "") + " "
                    + (f.llamaCppBanned() == null ? "-" : f.llamaCppBanned().toString().replace(" ", "")));
        }
    }
}
