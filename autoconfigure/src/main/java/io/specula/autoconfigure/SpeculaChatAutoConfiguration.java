package io.specula.autoconfigure;

import io.micrometer.observation.ObservationRegistry;
import io.specula.FieldErrors;
import io.specula.chat.SpeculaChatModel;
import io.specula.engine.EngineConfig;
import io.specula.engine.EngineLoadException;
import io.specula.engine.ServingLimits;
import io.specula.engine.SpeculaEngine;

import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.ai.model.SpringAIModelProperties;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.context.annotation.Bean;

/**
 * {@link AutoConfiguration Auto-configuration} for the Specula chat model: loads the engine (target and drafter) from
 * {@code spring.ai.specula.*} and exposes it as a Spring AI {@code ChatModel} with the defaults of
 * {@code spring.ai.specula.chat.*}. Active unless {@code spring.ai.model.chat} names another provider.
 */
@AutoConfiguration(afterName = "org.springframework.ai.model.tool.autoconfigure.ToolCallingAutoConfiguration")
@ConditionalOnClass(SpeculaChatModel.class)
@ConditionalOnProperty(name = SpringAIModelProperties.CHAT_MODEL, havingValue = SpeculaChatAutoConfiguration.MODEL,
        matchIfMissing = true)
@EnableConfigurationProperties({ SpeculaEngineProperties.class, SpeculaChatProperties.class,
        SpeculaAdaptiveProperties.class, SpeculaBatchingProperties.class })
public class SpeculaChatAutoConfiguration {

    /** The value of {@code spring.ai.model.chat} that selects Specula. */
    public static final String MODEL = "specula";

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public SpeculaEngine speculaEngine(SpeculaEngineProperties properties, SpeculaAdaptiveProperties adaptive,
            SpeculaBatchingProperties batching) {
        EngineConfig config = properties.toEngineConfig();
        try {
            return SpeculaEngine.load(config, adaptive.toConfig(), batching.toConfig());
        }
        catch (EngineLoadException ex) {
            throw invalidProperty(ex, config);
        }
    }

    /** The property behind the setting the engine could not load with, with its value and the engine's message. */
    static InvalidConfigurationPropertyValueException invalidProperty(EngineLoadException ex, EngineConfig config) {
        String engine = SpeculaEngineProperties.CONFIG_PREFIX;
        String loading = "the models could not be loaded (target " + config.targetDir() + ", drafter "
                + config.drafter() + "): " + ex.getMessage();
        return switch (ex.setting()) {
            case TARGET -> new InvalidConfigurationPropertyValueException(engine + ".target", config.targetDir(),
                    loading);
            case DRAFTER -> new InvalidConfigurationPropertyValueException(engine + ".drafter", config.drafter(),
                    loading);
            case DEVICE -> new InvalidConfigurationPropertyValueException(engine + ".device", config.device(),
                    ex.getMessage());
            case DTYPE -> new InvalidConfigurationPropertyValueException(engine + ".dtype", config.dtype(),
                    ex.getMessage());
            case ADAPTIVE -> new InvalidConfigurationPropertyValueException(
                    SpeculaAdaptiveProperties.CONFIG_PREFIX + ".enabled", true, ex.getMessage());
        };
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaChatModel speculaChatModel(SpeculaEngine engine, SpeculaChatProperties properties,
            ObjectProvider<ObservationRegistry> observationRegistry,
            ObjectProvider<ChatModelObservationConvention> observationConvention,
            ObjectProvider<ToolCallingManager> toolCallingManager) {
        FieldErrors overTheCap = new FieldErrors();
        ServingLimits.checkMaxTokens(properties.getMaxTokens(), engine.maxTokensCap(), overTheCap);
        if (!overTheCap.isEmpty()) {
            throw new InvalidConfigurationPropertyValueException(SpeculaChatProperties.CONFIG_PREFIX + ".max-tokens",
                    properties.getMaxTokens(), "more than " + SpeculaEngineProperties.CONFIG_PREFIX
                            + ".max-tokens-cap (" + engine.maxTokensCap() + "): every request would be refused");
        }
        SpeculaChatModel chatModel = SpeculaChatModel.builder()
            .engine(engine)
            .options(properties.toOptions())
            .observationRegistry(observationRegistry.getIfUnique(() -> ObservationRegistry.NOOP))
            .toolCallingManager(toolCallingManager.getIfUnique(() -> ToolCallingManager.builder().build()))
            .build();
        observationConvention.ifAvailable(chatModel::setObservationConvention);
        return chatModel;
    }
}
