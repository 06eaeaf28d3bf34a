package io.specula.starterapp;

import org.junit.jupiter.api.Test;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Without DJL's PyTorch engine, a configuration that needs it fails at start-up with an error that names the
 * property and the dependency to add, never a NoClassDefFoundError.
 */
class NoPyTorchStartupFailureTests {

    @Test
    void aCudaDeviceNamesTheDependencyToAdd() {
        assertThatThrownBy(() -> start("--spring.ai.specula.device=cuda"))
            .hasRootCauseInstanceOf(InvalidConfigurationPropertyValueException.class)
            .rootCause()
            .hasMessageContaining("spring.ai.specula.device")
            .hasMessageContaining("needs DJL's PyTorch engine, which is not on the classpath")
            .hasMessageContaining("io.specula:specula-spring-boot-starter-djl");
    }

    @Test
    void theAdaptiveDrafterNamesTheDependencyToAdd() {
        assertThatThrownBy(() -> start("--spring.ai.specula.adaptive.enabled=true"))
            .hasRootCauseInstanceOf(InvalidConfigurationPropertyValueException.class)
            .rootCause()
            .hasMessageContaining("spring.ai.specula.adaptive.enabled")
            .hasMessageContaining("the adaptive drafter (training) needs DJL's PyTorch engine")
            .hasMessageContaining("io.specula:specula-spring-boot-starter-djl");
    }

    @Test
    void autoIsTheCpuWithoutTheEngine() {
        try (var context = start("--spring.ai.specula.device=auto")) {
            org.assertj.core.api.Assertions
                .assertThat(context.getBean(io.specula.engine.SpeculaEngine.class).info().device())
                .isEqualTo("cpu");
        }
    }

    private static org.springframework.context.ConfigurableApplicationContext start(String... extra) {
        SpringApplication app = new SpringApplication(StarterApplication.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        String[] args = new String[extra.length + 2];
        args[0] = "--spring.ai.specula.target=" + TinyModelPair.target();
        args[1] = "--spring.ai.specula.drafter=" + TinyModelPair.drafter();
        System.arraycopy(extra, 0, args, 2, extra.length);
        return app.run(args);
    }
}
