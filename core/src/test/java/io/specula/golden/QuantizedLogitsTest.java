package io.specula.golden;

import static io.specula.testing.Logits.argmax;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.model.KvCache;
import io.specula.model.Quantization;
import io.specula.testing.GoldenFixtures;
import io.specula.testing.GoldenFixtures.Fixture;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * How far each quantization moves the logits from float32, measured against transformers' float32 logits (the golden
 * files) at every prompt position of every fixture: the largest and the mean |difference| relative to the fixture's
 * logit scale (max |logit|), and how many positions keep transformers' top token. The figures are printed (and in
 * docs/quantization.md); the bounds below are about twice the largest measured (q8_0 0.040, q4_0 0.42, q4_1 0.55 on
 * gemma3-f32-sharded-softcap, whose capped logits make the scale small; q4_1 gets q4_0's bound), so that a kernel or quantizer bug
 * (errors of the order of the logits themselves) fails while the rounding of 8 and 4 bits passes.
 *
 * <p>These are random tiny models (hidden 64): every weight matters about equally and nothing is redundant, so they
 * are a harsh case for quantization; the perplexity of the trained sample model (docs/quantization.md) is the
 * measure of quality that reflects real use.
 */
class QuantizedLogitsTest {

    /** Largest |logit - float32 logit| / logit scale allowed, by quantization. */
    static double maxRelativeError(Quantization q) {
        return switch (q) {
            case NONE -> 1e-4;
            case Q8_0 -> 0.08;
            case Q4_0 -> 0.7;
            case Q4_1 -> 0.7;
        };
    }

    @TempDir
    static Path tmp;

    private static final List<String> REPORT = new ArrayList<>();

    static Stream<Arguments> cases() {
        return GoldenFixtures.all().stream().map(Fixture::name).flatMap(f -> Stream.of(Quantization.values())
                .map(q -> Arguments.of(f, q)));
    }

    @AfterAll
    static void printReport() {
        System.out.println("Quantized logits vs transformers float32 (golden), per fixture:");
        REPORT.stream().sorted().forEach(System.out::println);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void logitsStayCloseToFloat32(String fixture, Quantization q) {
        JsonObject g = TransformersGoldenTest.golden(fixture, "model.json");
        JsonArray promptJson = g.getAsJsonArray("prompt");
        int[] prompt = new int[promptJson.size()];
        for (int i = 0; i < prompt.length; i++) {
            prompt[i] = promptJson.get(i).getAsInt();
        }
        JsonArray rows = g.getAsJsonArray("logits");
        double scale = 1;
        for (int i = 0; i < rows.size(); i++) {
            for (var v : rows.get(i).getAsJsonArray()) {
                scale = Math.max(scale, Math.abs(v.getAsDouble()));
            }
        }
        Path dir = GoldenFixtures.named(fixture).writeTo(tmp.resolve(fixture + "-" + q));
        try (LoadedModel loaded = ModelLoader.load(dir, "cpu", "auto", "vector", q);
             KvCache cache = loaded.model().newCache(prompt.length)) {
            float[][] logits = loaded.model().forward(prompt, cache, prompt.length);
            double max = 0;
            double sum = 0;
            long n = 0;
            int sameTop = 0;
            for (int i = 0; i < prompt.length; i++) {
                JsonArray want = rows.get(i).getAsJsonArray();
                float[] wantRow = new float[want.size()];
                for (int v = 0; v < wantRow.length; v++) {
                    wantRow[v] = want.get(v).getAsFloat();
                    double d = Math.abs(logits[i][v] - wantRow[v]);
                    max = Math.max(max, d);
                    sum += d;
                    n++;
                }
                sameTop += argmax(logits[i]) == argmax(wantRow) ? 1 : 0;
            }
            double maxRel = max / scale;
            synchronized (REPORT) {
                REPORT.add(String.format(Locale.ROOT, "quantized %-20s %-5s max |diff| / scale %.4f, mean %.5f, "
                        + "top token kept at %d/%d positions", fixture, q, maxRel, sum / n / scale, sameTop,
                        prompt.length));
            }
            assertThat(maxRel).as("%s %s: max |logit diff| / scale", fixture, q)
                    .isLessThanOrEqualTo(maxRelativeError(q));
        }
    }
}
