package io.specula.autoconfigure;

import io.micrometer.core.instrument.binder.MeterBinder;
import io.specula.chat.SpeculaChatModel;
import io.specula.engine.SpeculaEngine;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * {@link AutoConfiguration Auto-configuration} for Specula's Micrometer meters, one {@link MeterBinder} per family
 * that Spring Boot binds to the application's meter registries: speculative decoding ({@link SpeculaMetrics}), latency
 * (time to first token, queue time: {@link SpeculaLatencyMetrics}), the engine's load ({@link SpeculaServingMetrics}), the adaptive drafter ({@link SpeculaAdaptiveMetrics}) and the draft
 * policy ({@link SpeculaPolicyMetrics}), all tagged with the serving target's name, also after a target update
 * ({@link SpeculaTargetMeters}). Needs Micrometer on the class
 * path; the {@code gen_ai.client.*} meters of Spring AI's chat observations come from Spring AI's own
 * auto-configuration.
 */
@AutoConfiguration(after = SpeculaChatAutoConfiguration.class)
@ConditionalOnClass({ MeterBinder.class, SpeculaChatModel.class })
@ConditionalOnBean(SpeculaEngine.class)
public class SpeculaMetricsAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean
    public SpeculaMetrics speculaMetrics(SpeculaEngine engine) {
        SpeculaMetrics metrics = new SpeculaMetrics(engine.statistics(), engine.info());
        engine.addDecodingListener(metrics);
        return metrics;
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaLatencyMetrics speculaLatencyMetrics(SpeculaEngine engine) {
        SpeculaLatencyMetrics metrics = new SpeculaLatencyMetrics(engine.info());
        engine.addDecodingListener(metrics);
        return metrics;
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaServingMetrics speculaServingMetrics(SpeculaEngine engine) {
        return new SpeculaServingMetrics(engine::servingStatus, engine.info());
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaAdaptiveMetrics speculaAdaptiveMetrics(SpeculaEngine engine) {
        return new SpeculaAdaptiveMetrics(engine.adaptive().orElse(null), engine.info());
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaBatchingMetrics speculaBatchingMetrics(SpeculaEngine engine) {
        return new SpeculaBatchingMetrics(engine::batchingStatus, engine.info());
    }

    @Bean
    @ConditionalOnMissingBean
    public SpeculaPolicyMetrics speculaPolicyMetrics(SpeculaEngine engine) {
        return new SpeculaPolicyMetrics(engine::policyEstimates, engine.info());
    }

    /** After a target update, the meters above name the new target ({@link SpeculaTargetMeters}). */
    @Bean
    @ConditionalOnMissingBean
    public SpeculaTargetMeters speculaTargetMeters(SpeculaEngine engine,
            ObjectProvider<SpeculaTargetMeters.Retaggable> binders) {
        SpeculaTargetMeters meters = new SpeculaTargetMeters(engine.info(), binders.orderedStream().toList());
        engine.addTargetListener(meters::targetChanged);
        return meters;
    }
}
