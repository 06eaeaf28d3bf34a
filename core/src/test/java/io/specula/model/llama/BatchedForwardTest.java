package io.specula.model.llama;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.SpeculaException;
import io.specula.kernel.MatMul;
import io.specula.kernel.MatMuls;
import io.specula.kernel.ScalarMatMul;
import io.specula.model.BatchedCausalLm.Segment;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.model.WeightLoader;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The multi-sequence forward pass is lossless: every sequence's logits in a shared pass are bit for bit those of the
 * same steps run alone (prefill, plain steps, verification passes, rollbacks), whichever sequences share the pass
 * and however a prompt is split into chunks. Products are large enough that the vector kernel splits rows among
 * threads and groups positions by 5 in different ways alone and together.
 */
class BatchedForwardTest {

    private static final String LONGROPE = "Phi3ForCausalLM with longrope";

    static ModelConfig config(String arch) {
        String extra = switch (arch) {
            case "Qwen3ForCausalLM" -> ",\"head_dim\":32";
            case "MistralForCausalLM" -> ",\"sliding_window\":7";
            // Phi-3 with plain RoPE (partial rotary, a sliding window): batched like the others
            case "Phi3ForCausalLM" -> ",\"partial_rotary_factor\":0.5,\"sliding_window\":7";
            // Phi-3 with longrope (switching at 8 positions): one sequence per pass
            case LONGROPE -> ",\"original_max_position_embeddings\":8,\"partial_rotary_factor\":0.5,"
                    + "\"rope_scaling\":{\"type\":\"longrope\",\"short_factor\":[1.0,1.5,2.0,2.5,3.0,3.5,4.0,4.5],"
                    + "\"long_factor\":[3.0,4.0,5.0,6.0,7.0,8.0,9.0,40.0]}";
            default -> "";
        };
        String name = arch.equals(LONGROPE) ? "Phi3ForCausalLM" : arch;
        JsonObject json = JsonParser.parseString("{\"architectures\":[\"" + name + "\"],\"vocab_size\":300,"
                + "\"hidden_size\":128,\"intermediate_size\":256,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
                + "\"num_key_value_heads\":2,\"max_position_embeddings\":128,\"rms_norm_eps\":1e-5" + extra + "}")
                .getAsJsonObject();
        return ModelConfig.parse(Path.of("config.json"), json);
    }

    static LlamaModel model(String arch, MatMul kernel, Quantization quantization) {
        ModelConfig c = config(arch);
        return new LlamaModel(c, LlamaWeights.load(c, new WeightLoader(LlamaModelTest.random(7), quantization, false)), kernel);
    }

    /** One sequence's script: a prompt, then steps of 1 token (plain) or several (verification, rolled back). */
    record Script(int[] prompt, int[][] steps, int[] rollbacks) {
    }

    static List<Script> scripts() {
        SplittableRandom r = new SplittableRandom(3);
        List<Script> scripts = new ArrayList<>();
        int[] promptLengths = {1, 9, 23, 4, 40};
        for (int s = 0; s < promptLengths.length; s++) {
            int[] prompt = r.ints(promptLengths[s], 0, 300).toArray();
            int[][] steps = new int[6][];
            int[] rollbacks = new int[6];
            for (int k = 0; k < steps.length; k++) {
                int width = (s + k) % 3 == 0 ? 5 : 1; // γ = 4 verification, or a plain step
                steps[k] = r.ints(width, 0, 300).toArray();
                rollbacks[k] = width > 1 ? r.nextInt(width) : 0; // drafts rejected after the pass
            }
            scripts.add(new Script(prompt, steps, rollbacks));
        }
        return scripts;
    }

    /** Every sequence alone: [sequence][pass] → logits rows. */
    static List<List<float[][]>> alone(LlamaModel m, List<Script> scripts) {
        List<List<float[][]>> out = new ArrayList<>();
        for (Script s : scripts) {
            List<float[][]> rows = new ArrayList<>();
            try (KvCache cache = m.newCache(100)) {
                rows.add(m.forward(s.prompt(), cache, 1));
                for (int k = 0; k < s.steps().length; k++) {
                    rows.add(m.forward(s.steps()[k], cache, s.steps()[k].length));
                    cache.truncate(cache.length() - s.rollbacks()[k]);
                }
            }
            out.add(rows);
        }
        return out;
    }

    /**
     * All sequences together, in lockstep passes: prompts prefilled in chunks of at most {@code chunk} tokens in
     * passes shared with the others' steps; sequence i starts at pass i (joins late) and leaves when done.
     */
    static List<List<float[][]>> together(LlamaModel m, List<Script> scripts, int chunk) {
        int n = scripts.size();
        List<List<float[][]>> out = new ArrayList<>();
        KvCache[] caches = new KvCache[n];
        int[] prefilled = new int[n];
        int[] step = new int[n];
        for (int i = 0; i < n; i++) {
            out.add(new ArrayList<>());
            caches[i] = m.newCache(100);
        }
        for (int pass = 0; ; pass++) {
            List<Segment> segments = new ArrayList<>();
            List<Integer> who = new ArrayList<>();
            for (int i = 0; i < n && i <= pass; i++) {
                Script s = scripts.get(i);
                if (prefilled[i] < s.prompt().length) {
                    int take = Math.min(chunk, s.prompt().length - prefilled[i]);
                    boolean last = prefilled[i] + take == s.prompt().length;
                    segments.add(new Segment(Arrays.copyOfRange(s.prompt(), prefilled[i], prefilled[i] + take),
                            caches[i], last ? 1 : 0));
                    prefilled[i] += take;
                    who.add(last ? i : -1 - i);
                } else if (step[i] < s.steps().length) {
                    int[] tokens = s.steps()[step[i]];
                    segments.add(new Segment(tokens, caches[i], tokens.length));
                    who.add(i);
                }
            }
            if (segments.isEmpty()) {
                break;
            }
            float[][][] result = m.forward(segments);
            for (int j = 0; j < who.size(); j++) {
                int i = who.get(j);
                if (i < 0) {
                    assertThat(result[j]).isEmpty();
                    continue;
                }
                out.get(i).add(result[j]);
                if (out.get(i).size() > 1) { // after a step: roll back its rejected drafts
                    caches[i].truncate(caches[i].length() - scripts.get(i).rollbacks()[step[i]]);
                    step[i]++;
                }
            }
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
            "Phi3ForCausalLM"})
    void everySequenceInASharedPassIsBitIdenticalToItAlone(String arch) {
        // Every architecture on the best kernel; Llama also on the scalar one and with 8-bit weights.
        boolean llama = arch.equals("LlamaForCausalLM");
        List<MatMul> kernels = llama && MatMuls.vectorAvailable() ? List.of(MatMuls.best(), new ScalarMatMul())
                : List.of(MatMuls.best());
        for (MatMul kernel : kernels) {
            for (Quantization q : llama ? List.of(Quantization.NONE, Quantization.Q8_0) : List.of(Quantization.NONE)) {
                LlamaModel m = model(arch, kernel, q);
                List<Script> scripts = scripts();
                List<List<float[][]>> expected = alone(m, scripts);
                for (int chunk : new int[] {1, 7, 64}) { // 64: every prompt whole
                    List<List<float[][]>> actual = together(m, scripts, chunk);
                    for (int i = 0; i < scripts.size(); i++) {
                        assertThat(actual.get(i)).hasSameSizeAs(expected.get(i));
                        for (int k = 0; k < expected.get(i).size(); k++) {
                            float[][] e = expected.get(i).get(k);
                            float[][] a = actual.get(i).get(k);
                            assertThat(a.length).isEqualTo(e.length);
                            for (int row = 0; row < e.length; row++) {
                                assertThat(Arrays.equals(a[row], e[row]))
                                        .as("%s %s %s chunk %d: sequence %d pass %d row %d", arch, kernel.name(), q,
                                                chunk, i, k, row)
                                        .isTrue();
                            }
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"LlamaForCausalLM"})
    void aBadSegmentFailsThePassBeforeAnyCacheMoves(String arch) {
        LlamaModel m = model(arch, new ScalarMatMul(), Quantization.NONE);
        try (KvCache a = m.newCache(10); KvCache b = m.newCache(3)) {
            assertThatThrownBy(() -> m.forward(List.of(new Segment(new int[] {1, 2}, a, 1),
                    new Segment(new int[] {1, 2, 3, 4}, b, 1))))
                    .isInstanceOf(SpeculaException.class).hasMessageContaining("KV cache");
            assertThatThrownBy(() -> m.forward(List.of(new Segment(new int[] {1, 2}, a, 1),
                    new Segment(new int[] {300}, b, 1))))
                    .isInstanceOf(SpeculaException.class).hasMessageContaining("token id 300");
            assertThatThrownBy(() -> m.forward(List.of(new Segment(new int[] {1}, a, 1),
                    new Segment(new int[] {2}, a, 1))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("share one KV cache");
            assertThat(a.length()).isZero();
            assertThat(b.length()).isZero();
        }
    }

    /**
     * A longrope model's passes pick RoPE factors per sequence (and may re-rotate its cache), so it does not share
     * passes (a scheduler leaves it to per-request passes); a pass of several segments still gives each what it gives
     * alone, run one after another.
     */
    @org.junit.jupiter.api.Test
    void aLongRopeModelKeepsOneSequencePerPass() {
        LlamaModel m = model(LONGROPE, MatMuls.best(), Quantization.NONE);
        assertThat(m.sharesPasses()).isFalse();
        assertThat(model("Phi3ForCausalLM", MatMuls.best(), Quantization.NONE).sharesPasses()).isTrue();
        List<Script> scripts = scripts();
        List<List<float[][]>> expected = alone(m, scripts);
        List<List<float[][]>> actual = together(m, scripts, 64); // prompts whole: the same calls as alone
        for (int i = 0; i < scripts.size(); i++) {
            assertThat(actual.get(i)).hasSameSizeAs(expected.get(i));
            for (int k = 0; k < expected.get(i).size(); k++) {
                for (int row = 0; row < expected.get(i).get(k).length; row++) {
                    assertThat(Arrays.equals(actual.get(i).get(k)[row], expected.get(i).get(k)[row]))
                            .as("sequence %d pass %d row %d", i, k, row).isTrue();
                }
            }
        }
    }
}
