package io.specula.quantized;

import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.ProcessMemory;
import io.specula.kernel.Bf16Matrix;
import io.specula.kernel.F16Matrix;
import io.specula.kernel.F32Matrix;
import io.specula.kernel.WeightMatrix;
import io.specula.model.ModelWeights;
import io.specula.model.Quantization;
import io.specula.model.TensorSource.Part;
import io.specula.model.WeightsSummary;
import io.specula.model.llama.LlamaModel;
import io.specula.model.safetensors.DType;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** F16 and BF16 checkpoints stay 16-bit in memory: no float32 copy of the weights is made or kept. */
class SixteenBitWeightsTest {

    @TempDir
    Path tmp;

    @Test
    void aBf16ModelTakesItsFileSizeInTheHeapNotTwice() throws Exception {
        // 6 layers x 512: 19 M layer weights + a small embedding, 38 MB in BF16, 77 MB in float32
        Path dir = TinyModelDirs.write(tmp.resolve("bf16"), TinyModels.Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                ChatTemplateKind.NONE, s -> s.hiddenSize(512).intermediateSize(1536).layers(6).heads(8).kvHeads(4)
                        .dtype(DType.BF16));
        long before = ProcessMemory.usedHeapAfterGc();
        long sixteen;
        long bytes;
        try (LoadedModel m = ModelLoader.load(dir, "cpu", "auto", "auto")) {
            sixteen = ProcessMemory.usedHeapAfterGc() - before;
            WeightsSummary w = ((LlamaModel) m.model()).weights();
            assertThat(w.bytesByFormat().keySet()).containsExactly("bf16");
            bytes = w.bytes();
            float[] logits = m.model().forward(new int[] {1, 5, 9}, m.model().newCache(3), 1)[0];
            for (float v : logits) {
                assertThat(v).isFinite();
            }
        }
        long thirtyTwo;
        try (LoadedModel m = ModelLoader.load(dir, "cpu", "float32", "auto")) {
            thirtyTwo = ProcessMemory.usedHeapAfterGc() - before;
            assertThat(((LlamaModel) m.model()).weights().bytesByFormat().keySet()).containsExactly("f32");
        }
        System.out.printf("BF16 model of %.1f MB of weights: heap +%.1f MB loaded as stored, +%.1f MB as float32%n",
                bytes / 1e6, sixteen / 1e6, thirtyTwo / 1e6);
        assertThat(bytes).isBetween(35_000_000L, 42_000_000L);
        // the weights plus the tokenizer and small objects; a float32 copy would add 2x the weights
        assertThat(sixteen).isLessThan(bytes + bytes / 5 + 8_000_000L);
        assertThat(thirtyTwo).isGreaterThan(sixteen + bytes * 7 / 10);
    }

    @Test
    void stackedMatricesKeepTheirStoredTypeAndValues() {
        for (DType type : new DType[] {DType.F16, DType.BF16, DType.F32}) {
            Path dir = TinyModelDirs.write(tmp.resolve(type.name()), TinyModels.Family.QWEN2,
                    TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.dtype(type).shards(2));
            try (ModelWeights w = ModelWeights.open(dir)) {
                String p = "model.layers.1.self_attn.";
                long[] q = w.info(p + "q_proj.weight").shape();
                long[] k = w.info(p + "k_proj.weight").shape();
                int cols = (int) q[1];
                WeightMatrix m = w.matrix(cols, new Part(p + "q_proj.weight", (int) q[0]),
                        new Part(p + "k_proj.weight", (int) k[0]), new Part(p + "v_proj.weight", (int) k[0]));
                assertThat(m).isInstanceOf(switch (type) {
                    case F16 -> F16Matrix.class;
                    case BF16 -> Bf16Matrix.class;
                    default -> F32Matrix.class;
                });
                float[] expected = concat(w.floats(p + "q_proj.weight"), w.floats(p + "k_proj.weight"),
                        w.floats(p + "v_proj.weight"));
                assertThat(m.toFloats()).as(type.name()).containsExactly(expected);
                float[] rows = new float[3 * cols];
                w.floatRows(p + "k_proj.weight", (int) k[0], cols, 2, 5, rows, 0);
                assertThat(rows).containsExactly(Arrays.copyOfRange(w.floats(p + "k_proj.weight"), 2 * cols,
                        5 * cols));
                assertThatThrownBy(() -> w.matrix(cols + 1, new Part(p + "q_proj.weight", (int) q[0])))
                        .hasMessageContaining("q_proj.weight").hasMessageContaining("expected shape");
            }
        }
    }

    @Test
    void quantizingAtLoadReportsWhatItMadeAndHowLong() {
        Path dir = TinyModelDirs.write(tmp.resolve("untied"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.dtype(DType.BF16));
        try (LoadedModel m = ModelLoader.load(dir, "cpu", "auto", "auto", Quantization.Q4_1)) {
            WeightsSummary w = ((LlamaModel) m.model()).weights();
            // untied: the embedding is quantized like the layers, the output head stays 8-bit
            assertThat(w.bytesByFormat().keySet()).containsExactlyInAnyOrder("q4", "q8_0");
            assertThat(w.quantizeNanos()).isPositive();
            assertThat(w.kept()).isZero();
            assertThat(w.toString()).contains("quantized to q4_1 at load in");
        }
    }

    private static float[] concat(float[]... parts) {
        float[] out = new float[Arrays.stream(parts).mapToInt(a -> a.length).sum()];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
