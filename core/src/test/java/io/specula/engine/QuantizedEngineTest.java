package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.model.ModelWeights;
import io.specula.model.Quantization;
import io.specula.model.llama.LlamaModel;
import io.specula.model.safetensors.DType;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The engine loads target and drafter each with its own quantization, and refuses what cannot work, clearly. */
class QuantizedEngineTest {

    @TempDir
    Path tmp;

    @Test
    void targetAndDrafterGetTheirOwnQuantization() {
        Path target = TinyModelDirs.llama(tmp.resolve("target"), 1);
        Path drafter = TinyModelDirs.write(tmp.resolve("drafter"), TinyModels.Family.LLAMA,
                TokenizerKind.LLAMA2_BYTE_FALLBACK, ChatTemplateKind.NONE, s -> s.seed(2).layers(1));
        try (SpeculaEngine engine = SpeculaEngine.load(EngineConfig.of(target, drafter.toString())
                .withQuantization(Quantization.Q8_0, Quantization.Q4_1))) {
            assertThat(((LlamaModel) engine.target().model()).quantization()).isEqualTo(Quantization.Q8_0);
            assertThat(((LlamaModel) engine.drafterModel().model()).quantization()).isEqualTo(Quantization.Q4_1);
        }
    }

    @Test
    void quantizationOnDjlAndTogetherWithFloat32AreRefused() {
        Path target = TinyModelDirs.llama(tmp.resolve("target"), 1);
        assertThatThrownBy(() -> ModelLoader.load(target, "cpu", "auto", "djl", Quantization.Q4_0))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("quantization 'q4_0'").hasMessageContaining("not on DJL's PyTorch engine");
        assertThatThrownBy(() -> ModelLoader.load(target, "cpu", "float32", "auto", Quantization.Q8_0))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("dtype 'float32' and quantization 'q8_0'");
    }

    @Test
    void weightsThatCannotFitTheHeapAreRefusedBeforeReadingWithTheSizeToSet() {
        Path dir = TinyModelDirs.write(tmp.resolve("m"), TinyModels.Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                ChatTemplateKind.NONE, s -> s.dtype(DType.BF16));
        try (ModelWeights w = ModelWeights.open(dir)) {
            long stored = HeapCheck.estimate(w, Quantization.NONE, false);
            long f32 = HeapCheck.estimate(w, Quantization.NONE, true);
            long q4 = HeapCheck.estimate(w, Quantization.Q4_1, false);
            assertThat(f32).isGreaterThan(stored * 19 / 10);
            assertThat(q4).isLessThan(stored * 7 / 10);
        }
        HeapCheck.check(dir, 1_000_000_000L, "as stored", 2_000_000_000L, 4_000_000_000L);
        assertThatThrownBy(() -> HeapCheck.check(dir, 3_000_000_000L, "as stored", 2_000_000_000L, 4_000_000_000L))
                .isInstanceOf(SpeculaException.class)
                .hasMessageContaining("model m: its weights need about 3.45 GB of Java heap (as stored), only 2.00 GB")
                .hasMessageContaining("-Xmx7g");
    }
}
