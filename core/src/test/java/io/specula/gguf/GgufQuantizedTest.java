package io.specula.gguf;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.engine.EngineConfig;
import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.engine.SpeculaEngine;
import io.specula.speculative.SpeculationSettings;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.generate.GenerationRequest;
import io.specula.generate.SamplingParams;
import io.specula.gguf.GgufFixtures.Fixture;
import io.specula.gguf.GgufWriter.TensorType;
import io.specula.kernel.WeightMatrix;
import io.specula.model.ModelConfig;
import io.specula.model.TensorSource.Part;
import io.specula.model.llama.LlamaModel;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The quantized GGUF fixtures made by llama.cpp's llama-quantize ({@link GgufFixtures}: Q8_0; Q4_0 with a Q8_0 head;
 * Q4_K_M's Q5_0/Q8_0 substitutes on 64-wide rows; real Q4_K_M with Q4_K, Q6_K and a stacked q|k|v) against what
 * llama.cpp itself read and computed from the same files, recorded by scripts/make-gguf-fixtures.sh:
 *
 * <ul>
 *   <li>Weights: every tensor, as the engine holds it (in its weight format, the llama q/k permutation put back to
 *       the file's order), is <b>bit-identical</b> to gguf-py's dequantization of it (SHA-256 of the float32 values).</li>
 *   <li>Greedy ids against llama-server's on the same file (b11669, 2 threads, f32 KV cache): equal up to the first
 *       difference, which is tolerated only where llama.cpp's own top-2 log-probability gap is below
 *       {@link #NEAR_TIE} (llama.cpp multiplies quantized weights by activations quantized to 8 bits, we multiply
 *       them by float32 activations: the logits differ by a few hundredths), after at least {@link #MIN_EQUAL} equal
 *       tokens.</li>
 *   <li>The same against java-llama.cpp (llama.cpp b4916 in the test JVM) for the architectures it knows, on an id
 *       vocabulary copy of each file.</li>
 *   <li>Greedy speculative decoding with a GGUF target (Q4_K_M) and a GGUF drafter gives the target's plain output.</li>
 * </ul>
 */
class GgufQuantizedTest {

    static final double NEAR_TIE = 0.1;
    static final int MIN_EQUAL = 4;

    @TempDir
    Path tmp;

    static Stream<Fixture> fixtures() {
        return GgufFixtures.ALL.stream();
    }

    static JsonObject recorded(Fixture f) throws IOException {
        return JsonParser.parseString(Files.readString(f.llamaCppResults())).getAsJsonObject();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void everyTensorHoldsExactlyTheValuesGgufPyDequantizes(Fixture f) throws Exception {
        JsonObject expected = recorded(f).getAsJsonObject("tensors");
        try (GgufModel model = GgufModel.open(f.file())) {
            ModelConfig c = model.config();
            GgufWeights w = model.weights();
            boolean llama = "llama".equals(model.file().string("general.architecture"));
            Map<String, String> hfNames = hfNames(c);
            int checked = 0;
            for (GgufFile.Tensor t : model.file().tensors().values()) {
                float[] values;
                if (t.name().equals("rope_freqs.weight")) {
                    values = w.ropeFreqs((int) t.elements());
                } else if (t.ne().length == 1) {
                    values = w.floats(hfNames.get(t.name()), t.elements());
                    if (llama && (t.name().endsWith("attn_q.bias") || t.name().endsWith("attn_k.bias"))) {
                        values = GgufExporter.permute(values, values.length, 1,
                                t.name().contains("attn_q") ? c.numHeads() : c.numKvHeads());
                    }
                } else {
                    int rows = (int) t.rows();
                    int cols = (int) t.cols();
                    WeightMatrix m = w.matrix(cols, new Part(hfNames.get(t.name()), rows));
                    values = m.toFloats();
                    if (llama && (t.name().endsWith("attn_q.weight") || t.name().endsWith("attn_k.weight"))) {
                        values = GgufExporter.permute(values, rows, cols,
                                t.name().contains("attn_q") ? c.numHeads() : c.numKvHeads());
                    }
                }
                JsonObject e = expected.getAsJsonObject(t.name());
                assertThat(e.get("type").getAsString()).as(t.name()).isEqualTo(t.type().name());
                assertThat(sha256(values)).as("%s %s: our values vs gguf-py's dequantization", f.name(), t)
                        .isEqualTo(e.get("sha256").getAsString());
                checked++;
            }
            assertThat(checked).isEqualTo(expected.size());
        }
    }

    @Test
    void fusedPartsOfDifferentTypesAreStackedAndReadAsTheirParts() {
        Fixture f = GgufFixtures.byName("llama3-q4_k_m");
        try (GgufModel model = GgufModel.open(f.file())) {
            ModelConfig c = model.config();
            GgufWeights w = model.weights();
            String p = "model.layers.0.self_attn.";
            int d = c.hiddenSize();
            WeightMatrix q = w.matrix(d, new Part(p + "q_proj.weight", c.qDim()));
            WeightMatrix k = w.matrix(d, new Part(p + "k_proj.weight", c.kvDim()));
            WeightMatrix v = w.matrix(d, new Part(p + "v_proj.weight", c.kvDim()));
            WeightMatrix qkv = w.matrix(d, new Part(p + "q_proj.weight", c.qDim()),
                    new Part(p + "k_proj.weight", c.kvDim()), new Part(p + "v_proj.weight", c.kvDim()));
            assertThat(q.describe()).isEqualTo("q4");
            assertThat(v.describe()).isEqualTo("q8 (blocks of 16)");
            assertThat(qkv.describe()).isEqualTo("q4 + q4 + q8 (blocks of 16)");
            float[] expected = concat(q.toFloats(), k.toFloats(), v.toFloats());
            assertThat(qkv.toFloats()).containsExactly(expected);
            WeightMatrix gateUp = w.matrix(d, new Part("model.layers.0.mlp.gate_proj.weight", c.intermediateSize()),
                    new Part("model.layers.0.mlp.up_proj.weight", c.intermediateSize()));
            assertThat(gateUp.describe()).isEqualTo("q4");   // same type: one matrix
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void greedyIdsAreLlamaCppsOnTheSameFile(Fixture f) throws IOException {
        JsonObject rec = recorded(f);
        List<Integer> banned = ints(rec.getAsJsonArray("banned"));
        try (LoadedModel ours = ModelLoader.load(f.file(), "cpu", "auto", "auto")) {
            assertThat(ours.eosIds()).as("the end-of-generation ids llama.cpp banned").containsAll(banned);
            for (JsonElement r : rec.getAsJsonArray("runs")) {
                JsonObject run = r.getAsJsonObject();
                int[] prompt = ints(run.getAsJsonArray("prompt")).stream().mapToInt(Integer::intValue).toArray();
                int[] theirs = ints(run.getAsJsonArray("ids")).stream().mapToInt(Integer::intValue).toArray();
                JsonArray gaps = run.getAsJsonArray("top2_logprob_gaps");
                GgufModelTest.Run mine = GgufModelTest.greedy(ours.model(), prompt, theirs.length, banned);
                int same = firstDifference(mine.ids(), theirs);
                System.out.printf(Locale.ROOT, "%-16s prompt %s: greedy ids equal to llama-server's for %d/%d tokens"
                        + "%s%n", f.name(), Arrays.toString(prompt), same, theirs.length, same == theirs.length ? ""
                        : String.format(Locale.ROOT, " (then a near-tie: llama.cpp's top-2 gap %.4f, ours %.4f)",
                        gaps.get(same).getAsDouble(), mine.gaps()[same]));
                if (same < theirs.length) {
                    assertThat(gaps.get(same).getAsDouble()).as("%s: ids differ at step %d (ours %d, llama.cpp %d) "
                            + "where llama.cpp's top-2 gap is not a near-tie; ours %s, llama.cpp %s", f.name(), same,
                            mine.ids()[same], theirs[same], Arrays.toString(mine.ids()), Arrays.toString(theirs))
                            .isLessThan(NEAR_TIE);
                    assertThat(same).as(f.name() + ": equal tokens before a near-tie").isGreaterThanOrEqualTo(MIN_EQUAL);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtures")
    void greedyIdsAreJavaLlamaCppsOnTheSameFile(Fixture f) {
        org.junit.jupiter.api.Assumptions.assumeTrue(f.javaLlamaCpp(), "java-llama.cpp's llama.cpp b4916 predates "
                + f.family() + "'s architecture");
        GgufWriter w = GgufCopy.of(f.file());
        int eos = ((Number) w.metadata().get("tokenizer.ggml.eos_token_id").value()).intValue();
        int linefeed = LlamaCpp.useIdVocabulary(w);
        Path ids = tmp.resolve(f.name() + "-ids.gguf");
        w.write(ids);
        int threads = Runtime.getRuntime().availableProcessors();
        try (LoadedModel ours = ModelLoader.load(f.file(), "cpu", "auto", "auto");
             LlamaCpp llama = new LlamaCpp(ids, threads, 512, linefeed)) {
            int vocab = ours.config().vocabSize();
            for (int[] p : GgufFixtures.PROMPTS) {
                int[] prompt = Arrays.stream(p).map(x -> x % vocab).toArray();
                // ignore_eos in b4916 bans the id vocabulary's EOS, the only end-of-generation token it knows
                GgufModelTest.Run mine = GgufModelTest.greedy(ours.model(), prompt, GgufFixtures.TOKENS, List.of(eos));
                int[] theirs = llama.generate(prompt, GgufFixtures.TOKENS);
                int same = firstDifference(mine.ids(), theirs);
                System.out.printf(Locale.ROOT, "%-16s prompt %s: greedy ids equal to java-llama.cpp's (b4916) for "
                        + "%d/%d tokens%s%n", f.name(), Arrays.toString(prompt), same, theirs.length,
                        same == theirs.length ? "" : String.format(Locale.ROOT, " (then our top-2 gap %.4f)",
                                mine.gaps()[same]));
                if (same < theirs.length) {
                    assertThat(mine.gaps()[same]).as("%s: ids differ at step %d (ours %d, llama.cpp %d) where our "
                            + "top-2 gap is not a near-tie; ours %s, llama.cpp %s", f.name(), same, mine.ids()[same],
                            theirs[same], Arrays.toString(mine.ids()), Arrays.toString(theirs)).isLessThan((float) NEAR_TIE);
                    assertThat(same).isGreaterThanOrEqualTo(MIN_EQUAL);
                }
            }
        }
    }

    @ParameterizedTest(name = "drafter {0}")
    @MethodSource("drafters")
    void speculativeDecodingWithAQuantizedGgufTargetIsTheTargetsOwnGreedyOutput(String which) {
        Fixture target = GgufFixtures.byName("llama3-q4_k_m");
        Path drafter = target.file();   // "itself": every draft is accepted
        if (which.equals("small f16")) {
            // a small Llama 3 with the same tokenizer, as an F16 GGUF: unrelated weights, most drafts rejected
            Path dir = TinyModelDirs.write(tmp.resolve("drafter"), Family.LLAMA3, TokenizerKind.GPT2_BYTE_LEVEL,
                    ChatTemplateKind.LLAMA3, s -> s.layers(1).seed(104));
            drafter = tmp.resolve("drafter.gguf");
            GgufExporter.export(dir, drafter, TensorType.F16);
        }
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target.file(), drafter.toString()))) {
            assertThat(engine.info().targetName()).isEqualTo("llama3-q4_k_m");
            long agreed = 0;
            long drafted = 0;
            for (int[] p : GgufFixtures.PROMPTS) {
                GenerationRequest request = GenerationRequest.of(p, 40, SamplingParams.GREEDY);
                int[] plain = engine.generate(request, SpeculationSettings.OFF, null).tokenIds();
                for (int gamma : new int[] {1, 3, 6}) {
                    var spec = engine.generate(request, new SpeculationSettings(true, gamma, DraftPolicy.FIXED), null);
                    assertThat(spec.tokenIds()).as("γ=%d, prompt %s", gamma, Arrays.toString(p))
                            .containsExactly(plain);
                    agreed += spec.stats().acceptedTokens();
                    drafted += spec.stats().draftedTokens();
                }
            }
            assertThat(drafted).as("the speculative path ran").isPositive();
            if (which.equals("itself")) {
                assertThat(agreed).isEqualTo(drafted);
            } else {
                assertThat(agreed).isLessThan(drafted);
            }
        }
    }

    static Stream<String> drafters() {
        return Stream.of("itself", "small f16");
    }

    @Test
    void quantizedFixturesLoadInTheirFormats() {
        Map<String, String> formats = Map.of(
                "qwen2-q8_0", "q8_0",
                "llama-q4_0", "q4",
                "qwen3-q4_k_m-64", "q8_0",
                "llama3-q4_k_m", "q4 + q4 + q8 (blocks of 16)");
        for (Fixture f : GgufFixtures.ALL) {
            try (LoadedModel m = ModelLoader.load(f.file(), "cpu", "auto", "auto")) {
                String summary = ((LlamaModel) m.model()).weights().toString();
                assertThat(summary).as(f.name()).contains(formats.get(f.name())).doesNotContain("f32 ");
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    static int firstDifference(int[] a, int[] b) {
        int i = 0;
        while (i < Math.min(a.length, b.length) && a[i] == b[i]) {
            i++;
        }
        return i;
    }

    static List<Integer> ints(JsonArray a) {
        List<Integer> out = new ArrayList<>();
        a.forEach(e -> out.add(e.getAsInt()));
        return out;
    }

    /** GGUF name -> the Hugging Face name the models ask for. */
    static Map<String, String> hfNames(ModelConfig c) {
        List<String> names = new ArrayList<>(List.of("model.embed_tokens.weight", "model.norm.weight",
                "lm_head.weight"));
        for (int i = 0; i < c.numLayers(); i++) {
            for (String s : new String[] {"input_layernorm.weight", "self_attn.q_proj.weight",
                    "self_attn.q_proj.bias", "self_attn.k_proj.weight", "self_attn.k_proj.bias",
                    "self_attn.v_proj.weight", "self_attn.v_proj.bias", "self_attn.o_proj.weight",
                    "self_attn.q_norm.weight", "self_attn.k_norm.weight", "post_attention_layernorm.weight",
                    "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}) {
                names.add("model.layers." + i + "." + s);
            }
        }
        Map<String, String> out = new HashMap<>();
        for (String n : names) {
            out.put(GgufWeights.ggufName(n), n);
        }
        return out;
    }

    /**
     * SHA-256 of the float32 values, with -0 counted as +0 (as the recording script does): a Q4_0 weight
     * {@code d (q - 8)} at q = 8 is -0 in ggml for a negative d and +0 here ({@code fma(8, d, -8d)}), the same number
     * in every sum and product that follows.
     */
    static String sha256(float[] values) throws NoSuchAlgorithmException {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v + 0.0f);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.array()));
    }

    static float[] concat(float[]... parts) {
        java.nio.FloatBuffer all = java.nio.FloatBuffer.allocate(Arrays.stream(parts).mapToInt(p -> p.length).sum());
        for (float[] p : parts) {
            all.put(p);
        }
        return all.array();
    }
}
