package io.specula.autoconfigure;

import java.time.Duration;

import io.specula.FieldErrors;
import io.specula.InvalidRequestException;
import io.specula.engine.BatchingConfig;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.validation.Errors;
import org.springframework.validation.Validator;

/**
 * Continuous batching ({@code spring.ai.specula.batching.*}): concurrent requests share their forward passes, each
 * weight read once for all of them, and every request's output stays exactly what it is alone. Only models on the
 * Java kernels batch; on DJL (CUDA) each request keeps its own passes. Raise
 * {@code spring.ai.specula.max-concurrent-requests} with it: that is how many requests can share a pass. See
 * {@code docs/configuration.md}.
 */
@ConfigurationProperties(prefix = SpeculaBatchingProperties.CONFIG_PREFIX, ignoreUnknownFields = false)
public class SpeculaBatchingProperties implements Validator {

    public static final String CONFIG_PREFIX = "spring.ai.specula.batching";

    /**
     * Most positions one shared pass computes (a plain step is 1 position, a verification of γ drafts γ+1, a prompt
     * is prefilled in chunks of what is left). 0 or 1: batching off, every request runs its own passes. Default 64.
     */
    private int maxPositionsPerPass = BatchingConfig.DEFAULT.maxPositionsPerPass();

    /**
     * Longest a pass waits, from the end of the previous one, for running requests that have not yet asked for their
     * next step (it starts at once when all have); what a slow stream consumer can cost the others per step. Unset:
     * automatic, a quarter of the last pass's time and at least 1 ms.
     */
    private @Nullable Duration maxWait = BatchingConfig.DEFAULT.maxWait();

    public BatchingConfig toConfig() {
        return new BatchingConfig(this.maxPositionsPerPass, this.maxWait);
    }

    @Override
    public boolean supports(Class<?> type) {
        return SpeculaBatchingProperties.class.isAssignableFrom(type);
    }

    /** The engine's rules of batching, reported against the properties that hold them. */
    @Override
    public void validate(Object target, Errors errors) {
        FieldErrors found = new FieldErrors();
        try {
            ((SpeculaBatchingProperties) target).toConfig();
        }
        catch (InvalidRequestException ex) {
            ex.errors().forEach(e -> found.add(e.field(), e.message()));
        }
        found.list().forEach(e -> errors.rejectValue(e.field(), "specula.batching." + e.field(), e.message()));
    }

    public int getMaxPositionsPerPass() {
        return this.maxPositionsPerPass;
    }

    public void setMaxPositionsPerPass(int maxPositionsPerPass) {
        this.maxPositionsPerPass = maxPositionsPerPass;
    }

    public @Nullable Duration getMaxWait() {
        return this.maxWait;
    }

    public void setMaxWait(@Nullable Duration maxWait) {
        this.maxWait = maxWait;
    }
}
