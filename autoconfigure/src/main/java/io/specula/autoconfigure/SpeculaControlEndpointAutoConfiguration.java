package io.specula.autoconfigure;

import io.specula.chat.SpeculaChatModel;
import io.specula.engine.SpeculaEngine;

import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/**
 * {@link AutoConfiguration Auto-configuration} for the {@link SpeculaControlEndpoint}: only when the application gives
 * it access ({@code management.endpoint.speculacontrol.access=unrestricted}) and exposes it. Needs Spring Boot
 * Actuator.
 */
@AutoConfiguration(after = SpeculaChatAutoConfiguration.class)
@ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class, SpeculaChatModel.class })
@ConditionalOnBean(SpeculaEngine.class)
@EnableConfigurationProperties(SpeculaControlProperties.class)
public class SpeculaControlEndpointAutoConfiguration {

    // On the method, not the class: its condition class is only loaded once the class conditions have passed.
    @Bean
    @ConditionalOnAvailableEndpoint
    @ConditionalOnMissingBean
    public SpeculaControlEndpoint speculaControlEndpoint(SpeculaEngine engine, SpeculaControlProperties properties) {
        return new SpeculaControlEndpoint(engine, properties.getTargetDir());
    }

}
