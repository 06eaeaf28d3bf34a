package io.specula.autoconfigure;

import java.time.Duration;

import io.specula.engine.EngineInfo;
import io.specula.engine.ServingStatus;
import io.specula.engine.SpeculaEngine;

import org.springframework.boot.health.contributor.AbstractHealthIndicator;
import org.springframework.boot.health.contributor.Health;

/**
 * Health of the Specula engine: up with the model pair, the device and the load while the engine answers; down when
 * it is closed, when it is wedged (a request in flight has gone longer than the wedge timeout without a decoding
 * step: the engine's heartbeat), or when asking it fails. A model that fails to load fails start-up instead: the
 * application never reports up.
 */
public class SpeculaHealthIndicator extends AbstractHealthIndicator {

    private final SpeculaEngine engine;

    private final Duration wedgeTimeout;

    public SpeculaHealthIndicator(SpeculaEngine engine) {
        this(engine, Duration.ofSeconds(120));
    }

    public SpeculaHealthIndicator(SpeculaEngine engine, Duration wedgeTimeout) {
        super("Specula engine health check failed");
        this.engine = engine;
        this.wedgeTimeout = wedgeTimeout;
    }

    @Override
    protected void doHealthCheck(Health.Builder builder) {
        EngineInfo info = this.engine.info();
        builder.up()
            .withDetail("target", info.targetName())
            .withDetail("drafter", info.drafterName())
            .withDetail("device", info.device())
            .withDetail("dtype", info.dtype());
        ServingStatus status = this.engine.servingStatus();
        if (status == null) {
            return;
        }
        long stallMillis = status.longestStallNanos() / 1_000_000;
        builder.withDetail("requestsInFlight", status.inFlight())
            .withDetail("requestsQueued", status.queued())
            .withDetail("longestStallMillis", stallMillis);
        if (status.closed()) {
            builder.down().withDetail("reason", "the engine is closed");
        }
        else if (status.inFlight() > 0 && status.longestStallNanos() > this.wedgeTimeout.toNanos()) {
            builder.down()
                .withDetail("reason", "wedged: a request in flight has made no progress for " + stallMillis
                        + " ms (spring.ai.specula.wedge-timeout=" + this.wedgeTimeout.toMillis() + "ms)");
        }
    }
}
