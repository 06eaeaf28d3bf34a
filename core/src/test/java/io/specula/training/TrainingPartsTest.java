package io.specula.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class TrainingPartsTest {

    @Test
    void safetensorsRoundTrip(@TempDir Path dir) {
        Map<String, SafeTensorsFiles.Tensor> t = new LinkedHashMap<>();
        t.put("a", new SafeTensorsFiles.Tensor(new long[] {2, 3}, new float[] {1, -2, 3.5f, 0, 1e-3f, 7}));
        t.put("b.weight", new SafeTensorsFiles.Tensor(new long[] {1}, new float[] {0.25f}));
        SafeTensorsFiles.write(dir.resolve("f32.safetensors"), t, SafeTensorsFiles.DType.F32, Map.of("step", "3"));
        SafeTensorsFiles.write(dir.resolve("f16.safetensors"), t, SafeTensorsFiles.DType.F16, Map.of());
        var f32 = SafeTensorsFiles.read(dir.resolve("f32.safetensors"));
        var f16 = SafeTensorsFiles.read(dir.resolve("f16.safetensors"));
        assertThat(f32.keySet()).containsExactly("a", "b.weight");
        assertThat(f32.get("a").shape()).containsExactly(2, 3);
        assertThat(f32.get("a").data()).containsExactly(1, -2, 3.5f, 0, 1e-3f, 7);
        assertThat(f16.get("a").data()[4]).isCloseTo(1e-3f, within(1e-6f));
        assertThat(f16.get("b.weight").data()).containsExactly(0.25f);
    }

    @Test
    void warmupThenCosineToTheFloor() {
        assertThat(AdamW.learningRate(0, 100, 10, 1e-3f, 0.1f)).isEqualTo(0f);
        assertThat(AdamW.learningRate(5, 100, 10, 1e-3f, 0.1f)).isCloseTo(5e-4f, within(1e-9f));
        assertThat(AdamW.learningRate(10, 100, 10, 1e-3f, 0.1f)).isCloseTo(1e-3f, within(1e-9f));
        assertThat(AdamW.learningRate(55, 100, 10, 1e-3f, 0.1f)).isCloseTo(5.5e-4f, within(1e-8f));
        assertThat(AdamW.learningRate(100, 100, 10, 1e-3f, 0.1f)).isCloseTo(1e-4f, within(1e-9f));
    }

    @Test
    void adamWMinimisesAQuadraticAndClipsTheGradient() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray w = m.create(new float[] {3f, -4f}, new ai.djl.ndarray.types.Shape(1, 2));
            Map<String, NDArray> params = new LinkedHashMap<>();
            params.put("w", w);
            w.setRequiresGradient(true);
            AdamW adam = new AdamW(params, m, 0.9f, 0.95f, 1e-8f, 0f);
            float firstNorm = 0;
            for (int i = 0; i < 300; i++) {
                try (ai.djl.ndarray.NDScope s = new ai.djl.ndarray.NDScope();
                     var gc = ai.djl.engine.Engine.getInstance().newGradientCollector()) {
                    gc.backward(w.square().sum());
                }
                try (ai.djl.ndarray.NDScope s = new ai.djl.ndarray.NDScope()) {
                    float norm = adam.step(0.05f, 1f);
                    if (i == 0) {
                        firstNorm = norm;
                    }
                }
            }
            assertThat(firstNorm).isCloseTo(10f, within(1e-4f)); // |2w| before clipping
            assertThat(w.toFloatArray()[0]).isCloseTo(0f, within(0.05f));
            assertThat(w.toFloatArray()[1]).isCloseTo(0f, within(0.05f));
        }
    }

    @Test
    void batchesArePureFunctionsOfSeedAndStepAndStartAtWords(@TempDir Path dir) throws Exception {
        TrainingFixtures.prepare(dir, 320);
        TokenData data = TokenData.encode(dir.resolve("train"), dir.resolve("tokenizer"));
        TokenData.Window[] a = data.batch(3, 17, 4, 16);
        TokenData.Window[] b = data.batch(3, 17, 4, 16);
        TokenData.Window[] c = data.batch(3, 18, 4, 16);
        for (int i = 0; i < 4; i++) {
            assertThat(a[i].inputs()).isEqualTo(b[i].inputs());
            assertThat(a[i].inputs()[0]).isEqualTo(TokenData.BOS);
            assertThat(java.util.Arrays.copyOfRange(a[i].inputs(), 1, 16)).isEqualTo(java.util.Arrays.copyOf(a[i].targets(), 15));
        }
        assertThat(a[0].inputs()).isNotEqualTo(c[0].inputs());
        var windows = data.evaluationWindows(16, 0);
        assertThat(windows.size()).isGreaterThan(data.size() / 16 - 2);
        assertThat(data.evaluationWindows(16, 5)).hasSize(5);
    }
}
