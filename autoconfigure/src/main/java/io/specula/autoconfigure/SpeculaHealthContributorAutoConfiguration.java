package io.specula.autoconfigure;

import io.specula.chat.SpeculaChatModel;
import io.specula.engine.SpeculaEngine;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;

/**
 * {@link AutoConfiguration Auto-configuration} for {@link SpeculaHealthIndicator} (health component
 * {@code specula}; {@code management.health.specula.enabled=false} turns it off). Needs Spring Boot's health module.
 */
@AutoConfiguration(after = SpeculaChatAutoConfiguration.class)
@ConditionalOnClass({ HealthIndicator.class, ConditionalOnEnabledHealthIndicator.class, SpeculaChatModel.class })
@ConditionalOnBean(SpeculaEngine.class)
public class SpeculaHealthContributorAutoConfiguration {

    // On the method, not the class: its condition class is only loaded once the class conditions have passed.
    @Bean
    @ConditionalOnEnabledHealthIndicator("specula")
    @ConditionalOnMissingBean(name = { "speculaHealthIndicator", "speculaHealthContributor" })
    public SpeculaHealthIndicator speculaHealthIndicator(SpeculaEngine engine,
            ObjectProvider<SpeculaEngineProperties> properties) {
        SpeculaEngineProperties p = properties.getIfAvailable();
        return p != null ? new SpeculaHealthIndicator(engine, p.getWedgeTimeout()) : new SpeculaHealthIndicator(engine);
    }
}
