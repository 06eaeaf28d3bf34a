package io.specula.autoconfigure;

import io.specula.engine.EngineInfo;
import io.specula.engine.SpeculaEngine;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Health of the Specula engine: up with the model pair and device while the engine answers, down with the error
 * otherwise.
 */
public class SpeculaHealthIndicator extends AbstractHealthIndicator {

    private final SpeculaEngine engine;

    public SpeculaHealthIndicator(SpeculaEngine engine) {
        super("Specula engine health check failed");
        this.engine = engine;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        EngineInfo info = this.engine.info();
        builder.up()
            .withDetail("target", info.targetName())
            .withDetail("drafter", info.drafterName())
            .withDetail("device", info.device())
            .withDetail("dtype", info.dtype());
    }
}
