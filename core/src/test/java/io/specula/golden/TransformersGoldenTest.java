package io.specula.golden;

import static io.specula.testing.Logits.argmax;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.SpeculaException;
import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.testing.GoldenFixtures;
import io.specula.testing.GoldenFixtures.Fixture;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.tokenizer.ChatMessage;
import io.specula.tokenizer.HfTokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

/**
 * The engine against Hugging Face transformers itself: the golden files under {@code src/test/resources/golden/}
 * were computed by transformers (float32) from the {@link GoldenFixtures} model directories, which this test writes
 * again, byte for byte (the fingerprint proves it). See docs/testing.md; regenerate with
 * {@code scripts/regenerate-golden.sh}.
 *
 * <ul>
 *   <li>Logits at every prompt position: |engine - transformers| &lt;= {@value #LOGIT_TOLERANCE} x the fixture's logit
 *       scale (max |logit| of the golden rows, at least 1). Both compute in float32 from the same (F16/BF16-rounded)
 *       weights, so they differ by summation order only: ~1e-6 here.</li>
 *   <li>Greedy ids: equal for all {@value GoldenFixtures#GREEDY_TOKENS} steps. A different id is tolerated only where
 *       the golden top-2 gap is below {@link #flipGap twice the logit tolerance} (two logits each off by the
 *       tolerance can swap there); the test prints the flip and continues from the golden prefix (it feeds
 *       transformers' token, not its own), so every later step is still compared.</li>
 *   <li>Tokenizer ids, token strings and decoded text; chat templates' rendered text and ids: identical.</li>
 * </ul>
 * Each kernel (scalar Java, Vector API Java, DJL/PyTorch) is checked; the figures are printed.
 */
class TransformersGoldenTest {

    /** Relative to the fixture's logit scale: float32 math, different summation order, far below any real error. */
    static final double LOGIT_TOLERANCE = 1e-4;

    @TempDir
    static Path tmp;

    private static final Map<String, Path> DIRS = new HashMap<>();
    private static final List<String> REPORT = new ArrayList<>();

    static Stream<String> fixtures() {
        return GoldenFixtures.all().stream().map(Fixture::name);
    }

    static Stream<Arguments> fixturesAndKernels() {
        return GoldenFixtures.all().stream().flatMap(f -> Stream.of("scalar", "vector", "djl")
                .map(k -> Arguments.of(f.name(), k)));
    }

    static synchronized Path dir(String name) {
        return DIRS.computeIfAbsent(name, n -> GoldenFixtures.named(n).writeTo(tmp.resolve(n)));
    }

    static JsonObject golden(String fixture, String file) {
        String path = "/golden/" + fixture + "/" + file;
        try (InputStream in = TransformersGoldenTest.class.getResourceAsStream(path)) {
            if (in == null) {
                throw new IllegalStateException("no golden file " + path + ": run scripts/regenerate-golden.sh");
            }
            return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterAll
    static void printReport() {
        System.out.println("Engine vs transformers (golden files), per fixture and kernel:");
        REPORT.stream().sorted().forEach(System.out::println);
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void fixtureIsWhatTheGoldenWasComputedFrom(String fixture) {
        assertThat(GoldenFixtures.fingerprint(dir(fixture)))
                .as("%s changed since its golden files were made: run scripts/regenerate-golden.sh", fixture)
                .isEqualTo(golden(fixture, "model.json").get("fingerprint").getAsString());
        assertThat(golden(fixture, "model.json").get("prompt").getAsJsonArray())
                .isEqualTo(ints(GoldenFixtures.named(fixture).prompt()));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("fixturesAndKernels")
    void logitsAndGreedyIdsMatchTransformers(String fixture, String kernel) {
        JsonObject g = golden(fixture, "model.json");
        int[] prompt = ints(g.getAsJsonArray("prompt"));
        int[] greedy = ints(g.getAsJsonArray("greedy"));
        double[] greedyGaps = doubles(g.getAsJsonArray("greedy_top2_gap"));
        JsonArray rows = g.getAsJsonArray("logits");
        double scale = 1;
        for (JsonElement row : rows) {
            for (double v : doubles(row.getAsJsonArray())) {
                scale = Math.max(scale, Math.abs(v));
            }
        }
        double tolerance = LOGIT_TOLERANCE * scale;
        String dtype = kernel.equals("djl") ? "float32" : "auto";
        if (kernel.equals("djl") && GoldenFixtures.named(fixture).family() == TinyModels.Family.GEMMA3) {
            // DJL does not implement Gemma 3: refused at load, naming the settings (docs/architecture.md).
            assertThatThrownBy(() -> ModelLoader.load(dir(fixture), "cpu", dtype, kernel))
                    .isInstanceOf(SpeculaException.class)
                    .hasMessageContaining("Gemma3ForCausalLM runs on the CPU's Java kernels only")
                    .hasMessageContaining("kernel 'djl'");
            synchronized (REPORT) {
                REPORT.add(String.format("golden %-20s %-6s refused at load (Gemma 3 is not implemented on DJL)",
                        fixture, kernel));
            }
            return;
        }
        try (LoadedModel loaded = ModelLoader.load(dir(fixture), "cpu", dtype, kernel)) {
            CausalLm m = loaded.model();
            double maxDiff = 0;
            List<String> flips = new ArrayList<>();
            try (KvCache cache = m.newCache(prompt.length + greedy.length)) {
                float[][] logits = m.forward(prompt, cache, prompt.length);
                for (int i = 0; i < prompt.length; i++) {
                    double[] want = doubles(rows.get(i).getAsJsonArray());
                    assertThat(logits[i]).hasSize(want.length);
                    for (int v = 0; v < want.length; v++) {
                        double d = Math.abs(logits[i][v] - want[v]);
                        maxDiff = Math.max(maxDiff, d);
                        if (d > tolerance) {
                            fail("%s/%s: logit %d at prompt position %d: engine %s, transformers %s (|diff| %.3g > %.3g)",
                                    fixture, kernel, v, i, logits[i][v], want[v], d, tolerance);
                        }
                    }
                }
                float[] last = logits[prompt.length - 1];
                Map<Integer, double[]> stepRows = stepLogits(g);
                for (int step = 0; step < greedy.length; step++) {
                    double[] want = stepRows.get(step);
                    if (want != null) {   // whole rows after a longrope switch (phi4mini-bf16-tied)
                        for (int v = 0; v < want.length; v++) {
                            double d = Math.abs(last[v] - want[v]);
                            maxDiff = Math.max(maxDiff, d);
                            if (d > tolerance) {
                                fail("%s/%s: logit %d at greedy step %d: engine %s, transformers %s (|diff| %.3g > %.3g)",
                                        fixture, kernel, v, step, last[v], want[v], d, tolerance);
                            }
                        }
                    }
                    int ours = argmax(last);
                    if (ours != greedy[step]) {
                        if (greedyGaps[step] >= flipGap(tolerance)) {
                            fail("%s/%s: greedy step %d: engine %d, transformers %d, where transformers' top-2 gap is "
                                            + "%s (>= %.3g: not a near tie); transformers' ids %s", fixture, kernel,
                                    step, ours, greedy[step], greedyGaps[step], flipGap(tolerance),
                                    Arrays.toString(greedy));
                        }
                        flips.add(String.format("step %d (engine %d, transformers %d, golden top-2 gap %s)", step,
                                ours, greedy[step], greedyGaps[step]));
                    }
                    if (step + 1 < greedy.length) {
                        // Continue from the golden prefix: after a tolerated flip every later step is still compared.
                        last = m.forward(new int[]{greedy[step]}, cache, 1)[0];
                    }
                }
            }
            synchronized (REPORT) {
                REPORT.add(String.format("golden %-20s %-6s max |logit diff| %.3g (tolerance %.3g, scale %.2f), "
                                + "greedy %d/%d equal%s", fixture, kernel, maxDiff, tolerance, scale,
                        greedy.length - flips.size(), greedy.length,
                        flips.isEmpty() ? "" : ", tolerated flips: " + String.join("; ", flips)));
            }
        }
    }

    /** model.json's optional whole logit rows at some greedy steps, by step. */
    static Map<Integer, double[]> stepLogits(JsonObject g) {
        Map<Integer, double[]> out = new HashMap<>();
        if (g.has("step_logits")) {
            JsonArray at = g.getAsJsonArray("step_logits_at");
            JsonArray rows = g.getAsJsonArray("step_logits");
            for (int i = 0; i < at.size(); i++) {
                out.put(at.get(i).getAsInt(), doubles(rows.get(i).getAsJsonArray()));
            }
        }
        return out;
    }

    /** Two logits each within the tolerance of transformers' can swap only where their gap is below twice it. */
    static double flipGap(double tolerance) {
        return 2 * tolerance;
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void tokenizerIdsMatchTransformers(String fixture) {
        JsonObject g = golden(fixture, "tokenizer.json");
        try (HfTokenizer tok = HfTokenizer.load(dir(fixture))) {
            List<String> texts = new ArrayList<>();
            for (JsonElement e : g.getAsJsonArray("cases")) {
                JsonObject c = e.getAsJsonObject();
                String text = c.get("text").getAsString();
                boolean special = c.get("add_special_tokens").getAsBoolean();
                texts.add(text);
                int[] ids = tok.encode(text, special);
                assertThat(ids).as("%s: ids of %s (special tokens %s)", fixture, c.get("text"), special)
                        .containsExactly(ints(c.getAsJsonArray("ids")));
                List<String> tokens = Arrays.stream(ids).mapToObj(tok::tokenString).toList();
                assertThat(tokens).as("%s: tokens of %s", fixture, c.get("text"))
                        .containsExactlyElementsOf(strings(c.getAsJsonArray("tokens")));
                // transformers' decode(skip_special_tokens=True): special tokens dropped, then decoded.
                int[] kept = Arrays.stream(ids).filter(id -> !tok.isSpecial(id)).toArray();
                assertThat(tok.decode(kept)).as("%s: decoded %s", fixture, c.get("text"))
                        .isEqualTo(c.get("decoded").getAsString());
            }
            assertThat(texts).containsAll(GoldenFixtures.named(fixture).tokenizerStrings());
        }
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void chatTemplateRendersAsTransformers(String fixture) {
        if (GoldenFixtures.named(fixture).template() == ChatTemplateKind.NONE) {
            assertThat(TransformersGoldenTest.class.getResource("/golden/" + fixture + "/chat.json")).isNull();
            return;
        }
        JsonObject g = golden(fixture, "chat.json");
        assertThat(g.getAsJsonArray("cases")).hasSize(GoldenFixtures.conversations().size());
        try (HfTokenizer tok = HfTokenizer.load(dir(fixture))) {
            for (JsonElement e : g.getAsJsonArray("cases")) {
                JsonObject c = e.getAsJsonObject();
                List<ChatMessage> messages = new ArrayList<>();
                for (JsonElement m : c.getAsJsonArray("messages")) {
                    messages.add(new ChatMessage(m.getAsJsonObject().get("role").getAsString(),
                            m.getAsJsonObject().get("content").getAsString()));
                }
                boolean gen = c.get("add_generation_prompt").getAsBoolean();
                String text = tok.chatTemplate().render(messages, gen);
                assertThat(text).as("%s: %s, generation prompt %s", fixture, messages, gen)
                        .isEqualTo(c.get("text").getAsString());
                assertThat(tok.encode(text, false)).as("%s: ids of the rendered chat", fixture)
                        .containsExactly(ints(c.getAsJsonArray("ids")));
            }
        }
    }

    /** transformers' generate stops at every id of generation_config.json's eos_token_id: so must the engine. */
    @ParameterizedTest
    @MethodSource("fixtures")
    void everyGenerationConfigEosIdStops(String fixture) throws IOException {
        Path dir = dir(fixture);
        JsonElement eos = JsonParser.parseString(Files.readString(dir.resolve("generation_config.json")))
                .getAsJsonObject().get("eos_token_id");
        List<Integer> want = new ArrayList<>();
        if (eos.isJsonArray()) {
            eos.getAsJsonArray().forEach(x -> want.add(x.getAsInt()));
        } else {
            want.add(eos.getAsInt());
        }
        try (LoadedModel loaded = ModelLoader.load(dir, "cpu", "auto", "scalar")) {
            assertThat(loaded.eosIds()).containsAll(want);
        }
    }

    private static int[] ints(JsonArray a) {
        int[] out = new int[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsInt();
        }
        return out;
    }

    private static JsonArray ints(int[] ids) {
        JsonArray a = new JsonArray();
        for (int id : ids) {
            a.add(id);
        }
        return a;
    }

    private static double[] doubles(JsonArray a) {
        double[] out = new double[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsDouble();
        }
        return out;
    }

    private static List<String> strings(JsonArray a) {
        List<String> out = new ArrayList<>();
        a.forEach(x -> out.add(x.getAsString()));
        return out;
    }
}
