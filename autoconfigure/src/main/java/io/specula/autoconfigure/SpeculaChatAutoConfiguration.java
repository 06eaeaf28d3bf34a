package io.specula.autoconfigure;

import io.micrometer.observation.ObservationRegistry;
import io.specula.SpeculaException;
import io.specula.chat.SpeculaChatModel;
import io.specula.engine.EngineConfig;
import io.specula.engine.SpeculaEngine;

import org.springframework.ai.chat.observation.ChatModelObservationConvention;
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
@AutoConfiguration
@ConditionalOnClass(SpeculaChatModel.class)
@ConditionalOnProperty(name = SpringAIModelProperties.CHAT_MODEL, havingValue = SpeculaChatAutoConfiguration.MODEL,
        matchIfMissing = true)
@EnableConfigurationProperties({ SpeculaEngineProperties.class, SpeculaChatProperties.class,
        SpeculaAdaptiveProperties.class })
public class SpeculaChatAutoConfiguration {

    /** The value of {@code spring.ai.model.chat} that selects Specula. */
    public static final String MODEL = "specula";

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    public SpeculaEngine speculaEngine(SpeculaEngineProperties properties, SpeculaAdaptiveProperties adaptive) {
        EngineConfig config = properties.toEngineConfig();
        try {
            return SpeculaEngine.load(config, adaptive.toConfig());
        }
        catch (SpeculaException ex) {
            if (ex.getMessage().startsWith("adaptive:")) {
                throw new InvalidConfigurationPropertyValueException(SpeculaAdaptiveProperties.CONFIG_PREFIX
                        + ".enabled", true, ex.getMessage());
            }
            // The engine's message names the file; name the property that points at it.
            boolean drafterAtFault = config.drafter() != null && !EngineConfig.NGRAM.equals(config.drafter())
                    && (ex.getMessage().contains(config.drafter()) || ex.getMessage().startsWith("drafter"));
            String property = SpeculaEngineProperties.CONFIG_PREFIX + (drafterAtFault ? ".drafter" : ".target");
            Object value = drafterAtFault ? config.drafter() : config.targetDir();
            throw new InvalidConfigurationPropertyValueException(property, value,
                    "the models could not be loaded (target " + config.targetDir() + ", drafter "
                            + (config.drafter() != null ? config.drafter() : "none") + "): " + ex.getMessage());
        }
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaStatistics speculaStatistics(SpeculaEngine engine) {
        SpeculaStatistics statistics = new SpeculaStatistics();
        engine.addDecodingListener(statistics);
        return statistics;
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaChatModel speculaChatModel(SpeculaEngine engine, SpeculaChatProperties properties,
            SpeculaEngineProperties engineProperties, ObjectProvider<ObservationRegistry> observationRegistry,
            ObjectProvider<ChatModelObservationConvention> observationConvention) {
        Integer maxTokens = properties.getMaxTokens();
        int cap = engine.maxTokensCap();
        if (maxTokens != null && cap > 0 && maxTokens > cap) {
            throw new InvalidConfigurationPropertyValueException(SpeculaChatProperties.CONFIG_PREFIX + ".max-tokens",
                    maxTokens, "more than " + SpeculaEngineProperties.CONFIG_PREFIX + ".max-tokens-cap (" + cap
                            + "): every request would be refused");
        }
        SpeculaChatModel chatModel = SpeculaChatModel.builder()
            .engine(engine)
            .options(properties.toOptions())
            .observationRegistry(observationRegistry.getIfUnique(() -> ObservationRegistry.NOOP))
            .parseSpecialTokensInMessages(engineProperties.isParseSpecialTokensInMessages())
            .build();
        observationConvention.ifAvailable(chatModel::setObservationConvention);
        return chatModel;
    }
}
