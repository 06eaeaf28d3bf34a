package io.specula.kernel;

import static io.specula.kernel.MatMulTesting.assertClose;
import static io.specula.kernel.MatMulTesting.random;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Runs only in the surefire execution {@code no-vector-module} (core/pom.xml), a JVM started WITHOUT
 * {@code --add-modules jdk.incubator.vector}: the dispatch must fall back to the scalar kernels without ever loading
 * a Vector API class. Must not name VectorMatMul or VectorOps.
 */
@Tag("no-vector-module")
class NoVectorModuleTest {

    @Test
    void fallsBackToScalarAndStillComputes() {
        assertThat(ModuleLayer.boot().findModule("jdk.incubator.vector")).isEmpty();
        assertThat(MatMuls.vectorAvailable()).isFalse();
        MatMul best = MatMuls.best();
        assertThat(best).isInstanceOf(ScalarMatMul.class);
        assertThat(MatMuls.bestOps()).isInstanceOf(ScalarOps.class);
        assertThat(MatMuls.forName("auto")).isSameAs(best);

        SplittableRandom rnd = new SplittableRandom(9);
        int positions = 5, out = 37, in = 29;
        float[] x = random(rnd, positions * in);
        float[] w = random(rnd, out * in);
        float[] bias = random(rnd, out);
        float[] y = new float[positions * out];
        best.matmul(x, positions, w, bias, out, in, y);
        float[] expected = new float[positions * out];
        for (int t = 0; t < positions; t++) {
            for (int o = 0; o < out; o++) {
                double s = bias[o];
                for (int i = 0; i < in; i++) {
                    s += (double) x[t * in + i] * w[o * in + i];
                }
                expected[t * out + o] = (float) s;
            }
        }
        assertClose("scalar fallback vs double", x, positions, w, bias, out, in, expected, y);
        assertThat(MatMuls.bestOps().dot(new float[] {1, 2, 3}, 0, new float[] {4, 5, 6}, 0, 3)).isEqualTo(32f);
    }

    @Test
    void everyWeightFormatWorksWithoutTheVectorModule() {
        SplittableRandom rnd = new SplittableRandom(10);
        int positions = 3, out = 9, in = 64;
        float[] w = random(rnd, out * in);
        float[] x = random(rnd, positions * in);
        F32Matrix f32 = new F32Matrix(w, out, in);
        for (WeightMatrix m : new WeightMatrix[] {Bf16Matrix.round(w, out, in), F16Matrix.round(w, out, in),
                Q8Matrix.quantize(f32), Q4Matrix.quantizeWithMinimum(FloatRows.of(f32), out, in)}) {
            float[] y = new float[positions * out];
            MatMuls.best().matmul(x, positions, m, null, y);
            float[] expected = new float[positions * out];
            new ScalarMatMul().matmul(x, positions, new F32Matrix(m.toFloats(), out, in), null, expected);
            assertThat(y).as(m.describe()).containsExactly(expected);
        }
    }

    @Test
    void forcingTheVectorPathExplainsWhatIsMissing() {
        assertThatThrownBy(() -> MatMuls.forName("vector")).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("--add-modules jdk.incubator.vector");
        assertThatThrownBy(() -> MatMuls.opsForName("vector")).isInstanceOf(IllegalStateException.class);
    }
}
