package io.specula.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** Runs with --add-modules jdk.incubator.vector (the default surefire execution); see NoVectorModuleTest for without. */
class MatMulsTest {

    @Test
    void picksTheVectorKernelsWhenTheModuleIsPresent() {
        assertThat(MatMuls.vectorAvailable()).isTrue();
        assertThat(MatMuls.best()).isInstanceOf(VectorMatMul.class).isSameAs(MatMuls.best());
        assertThat(MatMuls.best().name()).isEqualTo("vector");
        assertThat(MatMuls.bestOps()).isInstanceOf(VectorOps.class);
    }

    @Test
    void forcesAPathByName() {
        assertThat(MatMuls.forName("scalar")).isInstanceOf(ScalarMatMul.class);
        assertThat(MatMuls.forName(" Vector ")).isInstanceOf(VectorMatMul.class);
        assertThat(MatMuls.forName("auto")).isSameAs(MatMuls.best());
        assertThat(MatMuls.opsForName("scalar")).isInstanceOf(ScalarOps.class);
        assertThat(MatMuls.opsForName("vector")).isInstanceOf(VectorOps.class);
        assertThatThrownBy(() -> MatMuls.forName("gpu")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("vector, scalar, auto");
    }
}
