package io.specula.autoconfigure;

import io.specula.chat.SpeculaChatModel;
import io.specula.engine.SpeculaEngine;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * {@link AutoConfiguration Auto-configuration} for the {@link SpeculativeEndpoint} ({@code /actuator/specula}
 * once exposed with {@code management.endpoints.web.exposure.include}). Needs Spring Boot Actuator.
 */
@AutoConfiguration(after = SpeculaChatAutoConfiguration.class)
@ConditionalOnClass({ Endpoint.class, ConditionalOnAvailableEndpoint.class, SpeculaChatModel.class })
@ConditionalOnBean(SpeculaEngine.class)
public class SpeculativeEndpointAutoConfiguration {

    // On the method, not the class: its condition class is only loaded once the class conditions have passed.
    @Bean
    @ConditionalOnAvailableEndpoint
    @ConditionalOnMissingBean
    public SpeculativeEndpoint speculativeEndpoint(SpeculaEngine engine, ObjectProvider<SpeculaChatModel> chatModel, ObjectProvider<SpeculaEngineProperties> engineProperties) {
        SpeculaChatModel model = chatModel.getIfUnique();
        SpeculaEngineProperties properties = engineProperties.getIfAvailable();
        return new SpeculativeEndpoint(engine, model != null ? model.getOptions() : null,
                properties != null ? properties.getMaxContextTokens() : 0);
    }
}
