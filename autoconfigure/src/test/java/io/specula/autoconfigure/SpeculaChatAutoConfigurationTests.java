package io.specula.autoconfigure;

import java.nio.file.Files;
import io.specula.engine.DecodingOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import io.micrometer.core.instrument.MeterRegistry;
import io.specula.speculative.policy.DraftPolicy;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.observation.ObservationRegistry;
import io.specula.chat.SpeculaChatModel;
import io.specula.chat.SpeculaChatOptions;
import io.specula.engine.DrafterChoice;
import io.specula.engine.EngineConfig;
import io.specula.engine.EngineInfo;
import io.specula.engine.EngineLoadException;
import io.specula.engine.BatchingConfig;
import io.specula.engine.ServingLimits;
import io.specula.engine.ServingStatus;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingListener.StepEvent;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.model.Quantization;
import io.specula.speculative.stats.SpeculationStatistics;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import org.springframework.ai.chat.observation.ChatModelObservationConvention;
import org.springframework.ai.chat.observation.DefaultChatModelObservationConvention;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.core.NestedExceptionUtils;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.BDDMockito.given;
import static org.mockito.BDDMockito.willAnswer;
import static org.mockito.Mockito.mock;

/**
 * Conditions, property binding, user beans, start-up failures and the optional Micrometer / Actuator parts, over a
 * mocked engine (loading real models is the integration test's job).
 */
class SpeculaChatAutoConfigurationTests {

    static final EngineInfo INFO = new EngineInfo("tiny-target", "tiny-drafter", "cpu", "float32", "scalar", 128);

    static final AutoConfigurations SPECULA = AutoConfigurations.of(SpeculaChatAutoConfiguration.class,
            SpeculaMetricsAutoConfiguration.class, SpeculativeEndpointAutoConfiguration.class,
            SpeculaHealthContributorAutoConfiguration.class, SpeculaChatClientAutoConfiguration.class);

    SpeculaEngine engine;

    final List<DecodingListener> listeners = new ArrayList<>();

    /** The engine's one count; a real engine hears every step with it, as the listeners registered here do. */
    final SpeculationStatistics statistics = new SpeculationStatistics();

    ApplicationContextRunner runner;

    @BeforeEach
    void setUp() {
        this.engine = mock(SpeculaEngine.class);
        given(this.engine.info()).willReturn(INFO);
        given(this.engine.hasDrafter()).willReturn(true);
        given(this.engine.statistics()).willReturn(this.statistics);
        this.listeners.add(this.statistics);
        willAnswer(invocation -> this.listeners.add(invocation.getArgument(0))).given(this.engine)
            .addDecodingListener(any());
        this.runner = new ApplicationContextRunner().withConfiguration(SPECULA)
            .withBean(SpeculaEngine.class, () -> this.engine);
    }

    @Test
    void chatModelUsesTheEngineAndTheDefaultOptions() {
        this.runner.run(context -> {
            assertThat(context).hasSingleBean(SpeculaChatModel.class);
            SpeculaChatModel model = context.getBean(SpeculaChatModel.class);
            assertThat(model.getEngine()).isSameAs(this.engine);
            SpeculaChatOptions options = model.getOptions();
            assertThat(options.getModel()).isEqualTo("tiny-target");
            assertThat(options.getTemperature()).isEqualTo(DecodingOptions.DEFAULTS.temperature());
            assertThat(options.getTopP()).isEqualTo(DecodingOptions.DEFAULTS.topP());
            assertThat(options.getTopK()).isEqualTo(DecodingOptions.DEFAULTS.topK());
            assertThat(options.getSpeculative()).isTrue();
            assertThat(options.getDraftTokens()).isEqualTo(4);
            assertThat(options.getDraftPolicy()).isEqualTo(DraftPolicy.ADAPTIVE);
            assertThat(options.getMaxTokens()).isNull();
            assertThat(options.getSeed()).isNull();
        });
    }

    @Test
    void chatPropertiesBindToTheDefaultOptions() {
        this.runner
            .withPropertyValues("spring.ai.specula.chat.temperature=0.2", "spring.ai.specula.chat.top-p=0.9",
                    "spring.ai.specula.chat.top-k=40", "spring.ai.specula.chat.max-tokens=256",
                    "spring.ai.specula.chat.stop=###,END", "spring.ai.specula.chat.seed=42",
                    "spring.ai.specula.chat.frequency-penalty=0.5", "spring.ai.specula.chat.presence-penalty=0.25",
                    "spring.ai.specula.chat.speculative=false", "spring.ai.specula.chat.draft-tokens=8",
                    "spring.ai.specula.chat.draft-policy=fixed")
            .run(context -> {
                SpeculaChatOptions options = context.getBean(SpeculaChatModel.class).getOptions();
                assertThat(options.getTemperature()).isEqualTo(0.2);
                assertThat(options.getTopP()).isEqualTo(0.9);
                assertThat(options.getTopK()).isEqualTo(40);
                assertThat(options.getMaxTokens()).isEqualTo(256);
                assertThat(options.getStopSequences()).containsExactly("###", "END");
                assertThat(options.getSeed()).isEqualTo(42L);
                assertThat(options.getFrequencyPenalty()).isEqualTo(0.5);
                assertThat(options.getPresencePenalty()).isEqualTo(0.25);
                assertThat(options.getSpeculative()).isFalse();
                assertThat(options.getDraftTokens()).isEqualTo(8);
                assertThat(options.getDraftPolicy()).isEqualTo(DraftPolicy.FIXED);
            });
    }

    @Test
    void entityUsesSpeculasStructuredOutputUnlessSwitchedOff() {
        this.runner.run(context -> assertThat(context)
            .hasSingleBean(org.springframework.ai.chat.client.ChatClientBuilderCustomizer.class));
        this.runner.withPropertyValues("spring.ai.specula.chat.native-structured-output=false")
            .run(context -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(org.springframework.ai.chat.client.ChatClientBuilderCustomizer.class));
        this.runner.withClassLoader(new FilteredClassLoader(org.springframework.ai.chat.client.ChatClient.class))
            .run(context -> assertThat(context).hasSingleBean(SpeculaChatModel.class)
                .doesNotHaveBean(org.springframework.ai.chat.client.ChatClientBuilderCustomizer.class));
    }

    @Test
    void thePortableModelKeyIsAcceptedAsTheModelsName() {
        this.runner.withPropertyValues("spring.ai.specula.chat.model=qwen2.5-1.5b-instruct")
            .run(context -> assertThat(context).hasNotFailed()
                .getBean(SpeculaChatModel.class)
                .extracting(model -> model.getOptions().getModel())
                .isEqualTo("qwen2.5-1.5b-instruct"));
    }

    @Test
    void theConfigurationMetadataHasValueHintsAndTheEndpointIsSpecula() throws Exception {
        String metadata;
        try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("generated by spring-boot-configuration-processor (an annotation processor path)")
                .isNotNull();
            metadata = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        var json = com.google.gson.JsonParser.parseString(metadata).getAsJsonObject();
        java.util.Map<String, java.util.List<String>> hints = new java.util.HashMap<>();
        for (var hint : json.getAsJsonArray("hints")) {
            var values = new ArrayList<String>();
            hint.getAsJsonObject().getAsJsonArray("values")
                .forEach(v -> values.add(v.getAsJsonObject().get("value").getAsString()));
            hints.put(hint.getAsJsonObject().get("name").getAsString(), values);
        }
        assertThat(hints.get("spring.ai.specula.device")).contains("cpu", "auto", "cuda");
        assertThat(hints.get("spring.ai.specula.dtype")).containsExactly("auto", "float32", "float16");
        // Every weight quantization the loader knows, for either model, and nothing else.
        for (String key : java.util.List.of("spring.ai.specula.target-quantization",
                "spring.ai.specula.drafter-quantization")) {
            assertThat(hints.get(key)).as(key).containsExactlyElementsOf(
                    java.util.Arrays.stream(io.specula.model.Quantization.values())
                        .map(io.specula.model.Quantization::option).toList());
        }
        // Every policy the engine knows, and nothing else.
        assertThat(hints.get("spring.ai.specula.chat.draft-policy")).containsExactlyInAnyOrderElementsOf(
                java.util.Arrays.stream(DraftPolicy.values()).map(DraftPolicy::configName).toList());
        var properties = new ArrayList<String>();
        json.getAsJsonArray("properties")
            .forEach(p -> properties.add(p.getAsJsonObject().get("name").getAsString()));
        assertThat(properties).contains("spring.ai.specula.chat.model", "spring.ai.specula.device",
                "management.health.specula.enabled");
        assertThat(SpeculativeEndpoint.ID).isEqualTo("specula");
    }

    @Test
    void enginePropertiesBind(@TempDir Path dir) throws Exception {
        Path target = Files.createDirectories(dir.resolve("target-model"));
        Files.writeString(target.resolve("config.json"), "{}");
        this.runner
            .withPropertyValues("spring.ai.specula.target=" + target, "spring.ai.specula.drafter=NGRAM",
                    "spring.ai.specula.device=CUDA:1", "spring.ai.specula.dtype=float16",
                    "spring.ai.specula.max-context-tokens=2048")
            .run(context -> {
                var config = context.getBean(SpeculaEngineProperties.class).toEngineConfig();
                assertThat(config.targetDir()).isEqualTo(target.toAbsolutePath());
                assertThat(config.drafter()).isEqualTo(DrafterChoice.NGRAM);
                assertThat(config.device()).isEqualTo("cuda:1");
                assertThat(config.dtype()).isEqualTo("float16");
                assertThat(config.maxContextTokens()).isEqualTo(2048);
            });
    }

    @Test
    void quantizationPropertiesBind(@TempDir Path dir) throws Exception {
        Path target = Files.createDirectories(dir.resolve("target-model"));
        Files.writeString(target.resolve("config.json"), "{}");
        Path drafter = Files.createDirectories(dir.resolve("drafter-model"));
        Files.writeString(drafter.resolve("config.json"), "{}");
        this.runner
            .withPropertyValues("spring.ai.specula.target=" + target, "spring.ai.specula.drafter=" + drafter,
                    "spring.ai.specula.target-quantization=Q8_0", "spring.ai.specula.drafter-quantization= q4_1 ")
            .run(context -> {
                var config = context.getBean(SpeculaEngineProperties.class).toEngineConfig();
                assertThat(config.targetQuantization()).isEqualTo(Quantization.Q8_0);
                assertThat(config.drafterQuantization()).isEqualTo(Quantization.Q4_1);
            });
        this.runner.withPropertyValues("spring.ai.specula.target=" + target).run(context -> {
            var config = context.getBean(SpeculaEngineProperties.class).toEngineConfig();
            assertThat(config.targetQuantization()).isEqualTo(Quantization.NONE);
            assertThat(config.drafterQuantization()).isEqualTo(Quantization.NONE);
        });
    }

    @Test
    void badQuantizationSettingsFailStartupNamingTheProperty() {
        assertBindingFails("spring.ai.specula.target-quantization=q5_k", "targetQuantization",
                "expected none, q8_0, q4_0 or q4_1 (got \"q5_k\")");
        assertBindingFails("spring.ai.specula.drafter-quantization=int4", "drafterQuantization",
                "expected none, q8_0, q4_0 or q4_1");
        this.runner.withPropertyValues("spring.ai.specula.device=cuda", "spring.ai.specula.target-quantization=q8_0")
            .run(context -> assertThat(allMessages(context.getStartupFailure())).contains("targetQuantization")
                .contains("quantized weights run on the CPU kernels; with device cuda"));
        this.runner.withPropertyValues("spring.ai.specula.drafter=ngram", "spring.ai.specula.drafter-quantization=q4_0")
            .run(context -> assertThat(allMessages(context.getStartupFailure())).contains("drafterQuantization")
                .contains("the drafter is \"ngram\", not a model directory"));
        this.runner.withPropertyValues("spring.ai.specula.dtype=float32", "spring.ai.specula.target-quantization=q4_1")
            .run(context -> assertThat(allMessages(context.getStartupFailure())).contains("targetQuantization")
                .contains("set only one of them"));
    }

    @Test
    void servingLimitsBind(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{}");
        this.runner
            .withPropertyValues("spring.ai.specula.target=" + dir, "spring.ai.specula.max-concurrent-requests=2",
                    "spring.ai.specula.max-queued-requests=5", "spring.ai.specula.queue-timeout=1500ms",
                    "spring.ai.specula.kv-cache-budget=64MB", "spring.ai.specula.max-tokens-cap=512",
                    "spring.ai.specula.wedge-timeout=45s", "spring.ai.specula.shutdown-grace-period=3s",
                    "spring.ai.specula.prefill-chunk-tokens=256")
            .run(context -> {
                SpeculaEngineProperties properties = context.getBean(SpeculaEngineProperties.class);
                ServingLimits limits = properties.toEngineConfig().limits();
                assertThat(limits).isEqualTo(new ServingLimits(2, 5, java.time.Duration.ofMillis(1500),
                        64L * 1024 * 1024, 512, java.time.Duration.ofSeconds(3), 256));
                assertThat(properties.getWedgeTimeout()).isEqualTo(java.time.Duration.ofSeconds(45));
            });
        SpeculaEngineProperties defaults = new SpeculaEngineProperties();
        assertThat(defaults.toServingLimits()).isEqualTo(ServingLimits.DEFAULT);
    }

    @Test
    void unknownKeysFailStartupNamingTheKey() {
        for (String key : List.of("spring.ai.specula.max-concurent-requests", "spring.ai.specula.drafters",
                "spring.ai.specula.chat.temprature", "spring.ai.specula.chat.draft.tokens",
                "spring.ai.specula.adaptive.lerning-rate")) {
            this.runner.withPropertyValues(key + "=3").run(context -> {
                assertThat(context).as(key).hasFailed();
                Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
                assertThat(cause).as(key)
                    .isInstanceOf(org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException.class);
                assertThat(((org.springframework.boot.context.properties.bind.UnboundConfigurationPropertiesException) cause)
                    .getUnboundProperties()).as(key)
                    .extracting(property -> property.getName().toString())
                    .containsExactly(key);
            });
        }
        // Known keys of the three prefixes bind side by side.
        this.runner.withPropertyValues("spring.ai.specula.max-tokens-cap=64", "spring.ai.specula.chat.max-tokens=32",
                "spring.ai.specula.chat.stop[0]=END", "spring.ai.specula.adaptive.enabled=false")
            .run(context -> assertThat(context).hasNotFailed());
    }

    @Test
    void defaultMaxTokensOverTheCapFailsStartup() {
        given(this.engine.maxTokensCap()).willReturn(64);
        this.runner.withPropertyValues("spring.ai.specula.chat.max-tokens=65").run(context -> {
            assertThat(context).hasFailed();
            assertThat(allMessages(context.getStartupFailure())).contains("spring.ai.specula.chat.max-tokens")
                .contains("spring.ai.specula.max-tokens-cap (64)");
        });
    }

    @Test
    void aLoadErrorNamesThePropertyOfItsSetting(@TempDir Path dir) {
        EngineConfig config = new EngineConfig(dir, DrafterChoice.model(dir.resolve("drafter")), "cuda:3", "float16", 0);
        for (EngineLoadException.Setting setting : EngineLoadException.Setting.values()) {
            InvalidConfigurationPropertyValueException ex = SpeculaChatAutoConfiguration
                .invalidProperty(new EngineLoadException(setting, "broken"), config);
            assertThat(ex.getName()).as(setting.name()).isEqualTo(switch (setting) {
                case TARGET -> "spring.ai.specula.target";
                case DRAFTER -> "spring.ai.specula.drafter";
                case DEVICE -> "spring.ai.specula.device";
                case DTYPE -> "spring.ai.specula.dtype";
                case ADAPTIVE -> "spring.ai.specula.adaptive.enabled";
            });
            assertThat(ex.getReason()).as(setting.name()).contains("broken");
        }
    }

    @Test
    void drafterNoneOrEmptyMeansNoDrafter(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), "{}");
        for (String drafter : List.of("", "none")) {
            SpeculaEngineProperties properties = new SpeculaEngineProperties();
            properties.setTarget(dir.toString());
            properties.setDrafter(drafter);
            assertThat(properties.toEngineConfig().drafter()).isEqualTo(DrafterChoice.NONE);
        }
    }

    @Test
    void activeWhenSpecula_isTheSelectedChatModel() {
        this.runner.withPropertyValues("spring.ai.model.chat=specula")
            .run(context -> assertThat(context).hasSingleBean(SpeculaChatModel.class));
    }

    @Test
    void inactiveWhenAnotherChatModelIsSelected() {
        new ApplicationContextRunner().withConfiguration(SPECULA)
            .withPropertyValues("spring.ai.model.chat=openai")
            .run(context -> assertThat(context).hasNotFailed()
                .doesNotHaveBean(SpeculaEngine.class)
                .doesNotHaveBean(SpeculaChatModel.class)
                .doesNotHaveBean(SpeculaMetrics.class)
                .doesNotHaveBean(SpeculaHealthIndicator.class)
                .doesNotHaveBean(SpeculaEngineProperties.class));
    }

    @Test
    void userBeansWin() {
        SpeculaChatModel userModel = SpeculaChatModel.builder().engine(this.engine).build();
        HealthIndicator userHealth = () -> Health.outOfService().build();
        this.runner.withBean(SpeculaChatModel.class, () -> userModel)
            .withBean("speculaHealthIndicator", HealthIndicator.class, () -> userHealth)
            .run(context -> {
                assertThat(context.getBean(SpeculaChatModel.class)).isSameAs(userModel);
                assertThat(context.getBean("speculaHealthIndicator")).isSameAs(userHealth);
                assertThat(context).doesNotHaveBean(SpeculaHealthIndicator.class);
            });
    }

    @Test
    void observationRegistryAndConventionAreUsed() {
        ChatModelObservationConvention convention = new DefaultChatModelObservationConvention();
        this.runner.withBean(ObservationRegistry.class, ObservationRegistry::create)
            .withBean(ChatModelObservationConvention.class, () -> convention)
            .run(context -> assertThat(context).hasSingleBean(SpeculaChatModel.class)
                .getBean(SpeculaChatModel.class)
                .extracting("observationRegistry", "observationConvention")
                .containsExactly(context.getBean(ObservationRegistry.class), convention));
    }

    @Test
    void missingTargetFailsNamingTheProperty() {
        new ApplicationContextRunner().withConfiguration(SPECULA).run(context -> {
            assertThat(context).hasFailed();
            Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
            assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class)
                .hasMessageContaining("spring.ai.specula.target");
            assertThat(((InvalidConfigurationPropertyValueException) cause).getReason())
                .contains("A target model directory is required");
        });
    }

    @Test
    void aTargetThatDoesNotExistFailsNamingThePropertyAndThePath(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-model");
        new ApplicationContextRunner().withConfiguration(SPECULA)
            .withPropertyValues("spring.ai.specula.target=" + missing)
            .run(context -> {
                assertThat(context).hasFailed();
                Throwable cause = NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure());
                assertThat(cause).isInstanceOf(InvalidConfigurationPropertyValueException.class)
                    .hasMessageContaining("spring.ai.specula.target")
                    .hasMessageContaining(missing.toString());
                assertThat(((InvalidConfigurationPropertyValueException) cause).getReason())
                    .contains(missing.toString())
                    .contains("does not exist");
            });
    }

    @Test
    void aTargetWithoutConfigJsonAndAMissingDrafterFail(@TempDir Path dir) throws Exception {
        new ApplicationContextRunner().withConfiguration(SPECULA)
            .withPropertyValues("spring.ai.specula.target=" + dir)
            .run(context -> assertThat(NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure()))
                .hasMessageContaining("spring.ai.specula.target")
                .hasMessageContaining("has no config.json"));

        Files.writeString(dir.resolve("config.json"), "{}");
        Path drafter = dir.resolve("drafter");
        new ApplicationContextRunner().withConfiguration(SPECULA)
            .withPropertyValues("spring.ai.specula.target=" + dir, "spring.ai.specula.drafter=" + drafter)
            .run(context -> assertThat(NestedExceptionUtils.getMostSpecificCause(context.getStartupFailure()))
                .hasMessageContaining("spring.ai.specula.drafter")
                .hasMessageContaining(drafter.toString()));
    }

    @Test
    void batchingPropertiesBind() {
        this.runner
            .withPropertyValues("spring.ai.specula.batching.max-positions-per-pass=48",
                    "spring.ai.specula.batching.max-wait=3ms")
            .run(context -> assertThat(context.getBean(SpeculaBatchingProperties.class).toConfig())
                .isEqualTo(new BatchingConfig(48, java.time.Duration.ofMillis(3))));
        assertThat(new SpeculaBatchingProperties().toConfig()).as("on by default, automatic wait")
            .isEqualTo(BatchingConfig.DEFAULT);
        assertThat(BatchingConfig.DEFAULT.enabled()).isTrue();
        this.runner.withPropertyValues("spring.ai.specula.batching.max-positions-per-pass=0")
            .run(context -> assertThat(context.getBean(SpeculaBatchingProperties.class).toConfig().enabled())
                .isFalse());
    }

    @Test
    void badChatValuesFailStartupNamingTheProperty() {
        assertBindingFails("spring.ai.specula.chat.temperature=-1", "temperature", "expected a number >= 0");
        assertBindingFails("spring.ai.specula.chat.top-p=0", "topP", "expected a number in (0, 1]");
        assertBindingFails("spring.ai.specula.chat.top-k=-2", "topK", "expected an integer >= 0");
        assertBindingFails("spring.ai.specula.chat.max-tokens=0", "maxTokens", "expected an integer >= 1");
        assertBindingFails("spring.ai.specula.chat.draft-tokens=17", "draftTokens", "expected an integer in 1..16");
        assertBindingFails("spring.ai.specula.chat.draft-policy=greedy", "draftPolicy", "expected one of");
        assertBindingFails("spring.ai.specula.device=tpu", "device", "expected \"cpu\"");
        assertBindingFails("spring.ai.specula.dtype=int8", "dtype", "expected \"auto\"");
        assertBindingFails("spring.ai.specula.max-context-tokens=-1", "maxContextTokens", "expected 0");
        assertBindingFails("spring.ai.specula.chat.temperature=warm", "temperature", "");
        assertBindingFails("spring.ai.specula.max-concurrent-requests=0", "maxConcurrentRequests", "expected");
        assertBindingFails("spring.ai.specula.max-queued-requests=-1", "maxQueuedRequests", "expected");
        assertBindingFails("spring.ai.specula.queue-timeout=-1s", "queueTimeout", "expected");
        assertBindingFails("spring.ai.specula.kv-cache-budget=-1MB", "kvCacheBudget", "expected");
        assertBindingFails("spring.ai.specula.max-tokens-cap=-1", "maxTokensCap", "expected");
        assertBindingFails("spring.ai.specula.wedge-timeout=0s", "wedgeTimeout", "expected");
        assertBindingFails("spring.ai.specula.shutdown-grace-period=-1s", "shutdownGracePeriod", "expected");
        assertBindingFails("spring.ai.specula.prefill-chunk-tokens=0", "prefillChunkTokens", "expected");
        // The adaptive drafter's rules are AdaptiveConfig's, reported against the property.
        assertBindingFails("spring.ai.specula.adaptive.loss=mse", "loss", "expected \"kl\" or \"cross-entropy\"");
        assertBindingFails("spring.ai.specula.adaptive.held-out-fraction=1", "heldOutFraction",
                "expected a number in (0, 0.5]");
        assertBindingFails("spring.ai.specula.adaptive.batch-size=0", "batchSize", "expected an integer >= 1");
        assertBindingFails("spring.ai.specula.batching.max-positions-per-pass=-1", "maxPositionsPerPass",
                "expected 0 or 1 (batching off) or an integer in 2..4096");
        assertBindingFails("spring.ai.specula.batching.max-wait=5s", "maxWait", "expected a duration in 0..1s");
    }

    void assertBindingFails(String property, String field, String reason) {
        String prefix = property.substring(0, property.lastIndexOf('.'));
        this.runner.withPropertyValues(property).run(context -> {
            assertThat(context).hasFailed();
            String messages = allMessages(context.getStartupFailure());
            assertThat(messages).as(property).contains(prefix).contains(field).contains(reason);
        });
    }

    static String allMessages(Throwable failure) {
        StringBuilder text = new StringBuilder();
        for (Throwable t = failure; t != null; t = t.getCause()) {
            text.append(t.getMessage()).append('\n');
        }
        return text.toString();
    }

    @Test
    void metersAreBoundAndFollowTheEngine() {
        this.runner
            .withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
                    CompositeMeterRegistryAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class))
            .run(context -> {
                assertThat(context).hasSingleBean(SpeculaMetrics.class);
                assertThat(this.listeners).contains(context.getBean(SpeculaMetrics.class));
                MeterRegistry registry = context.getBean(MeterRegistry.class);
                for (DecodingListener listener : this.listeners) {
                    listener.onStep(new StepEvent(4, 2, 3, 1_000, 2_000));
                    listener.onStep(new StepEvent(0, 0, 1, 0, 1_500));
                    listener.onRequestFinished(new DecodingStats(true, 2, 1, 4, 2, new long[] { 1, 1, 0, 0 },
                            new long[] { 1, 1, 1, 1 }, 4, 0, 1_000, 3_500, 10_000), FinishReason.STOP);
                }
                assertThat(registry.get(SpeculaMetrics.DRAFT_TOKENS).tag("target", "tiny-target")
                    .tag("drafter", "tiny-drafter").functionCounter().count()).isEqualTo(4);
                assertThat(registry.get(SpeculaMetrics.ACCEPTED_TOKENS).functionCounter().count()).isEqualTo(2);
                assertThat(registry.get(SpeculaMetrics.ACCEPTED_TOKENS_PER_POSITION).tag("position", "1")
                    .functionCounter().count()).isEqualTo(1);
                assertThat(registry.get(SpeculaMetrics.ACCEPTANCE_RATE).gauge().value()).isEqualTo(0.5);
                assertThat(registry.get(SpeculaMetrics.ACCEPTANCE_LENGTH).summary().mean()).isEqualTo(3.0);
                assertThat(registry.get(SpeculaMetrics.VERIFY).tag("speculative", "false").timer().count())
                    .isEqualTo(1);
                assertThat(registry.get(SpeculaMetrics.REQUESTS).tag("finish.reason", "stop").functionCounter()
                    .count()).isEqualTo(1);
                assertThat(registry.get(SpeculaMetrics.GENERATED_TOKENS).functionCounter().count()).isEqualTo(4);
            });
    }

    @Test
    void loadGaugesFollowTheEngine() {
        ServingStatus status = new ServingStatus(3, 2, 4, 64, 1 << 20, 8 << 20, 1_500_000_000L, 10, 4, 1, 2, 0,
                false);
        given(this.engine.servingStatus()).willReturn(status);
        this.runner
            .withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
                    CompositeMeterRegistryAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class))
            .run(context -> {
                MeterRegistry registry = context.getBean(MeterRegistry.class);
                assertThat(registry.get(SpeculaServingMetrics.REQUESTS_RUNNING).gauge().value()).isEqualTo(3);
                assertThat(registry.get(SpeculaServingMetrics.REQUESTS_WAITING).gauge().value()).isEqualTo(2);
                assertThat(registry.get(SpeculaServingMetrics.KV_CACHE_RESERVED).gauge().value()).isEqualTo(1 << 20);
                assertThat(registry.get(SpeculaServingMetrics.KV_CACHE_BUDGET).gauge().value()).isEqualTo(8 << 20);
                assertThat(registry.get(SpeculaServingMetrics.ENGINE_STALL).gauge().value()).isEqualTo(1.5);
                assertThat(registry.get(SpeculaServingMetrics.REQUESTS_REJECTED).tag("reason", "queue_full")
                    .functionCounter().count()).isEqualTo(4);
                assertThat(registry.get(SpeculaServingMetrics.REQUESTS_REJECTED).tag("reason", "queue_timeout")
                    .functionCounter().count()).isEqualTo(1);
                assertThat(registry.get(SpeculaServingMetrics.REQUESTS_REJECTED).tag("reason", "kv_cache_budget")
                    .functionCounter().count()).isEqualTo(2);
                for (DecodingListener listener : this.listeners) {
                    listener.onDrafterFault("tiny-drafter", new IllegalStateException("NaN"));
                }
                assertThat(registry.get(SpeculaMetrics.DRAFTER_FAULTS).functionCounter().count()).isEqualTo(1);
                assertThat(this.statistics.drafterFaults()).isEqualTo(1);
            });
    }

    @Test
    void healthIsDownWhenTheEngineIsWedgedOrClosed() {
        java.util.concurrent.atomic.AtomicReference<ServingStatus> status = new java.util.concurrent.atomic.AtomicReference<>(
                new ServingStatus(1, 0, 4, 64, 0, 0, 2_000_000_000L, 1, 0, 0, 0, 0, false));
        given(this.engine.servingStatus()).willAnswer(invocation -> status.get());
        this.runner.withPropertyValues("spring.ai.specula.wedge-timeout=5s").run(context -> {
            SpeculaHealthIndicator indicator = context.getBean(SpeculaHealthIndicator.class);
            Health health = indicator.health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("requestsInFlight", 1).containsEntry("longestStallMillis",
                    2000L);

            status.set(new ServingStatus(1, 3, 4, 64, 0, 0, 6_000_000_000L, 1, 0, 0, 0, 0, false));
            health = indicator.health();
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
            assertThat((String) health.getDetails().get("reason")).contains("wedged")
                .contains("spring.ai.specula.wedge-timeout=5000ms");

            status.set(new ServingStatus(0, 0, 4, 64, 0, 0, 0, 1, 0, 0, 0, 0, true));
            health = indicator.health();
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.getDetails()).containsEntry("reason", "the engine is closed");
        });
    }

    @Test
    void withoutMicrometerThereAreNoMeters() {
        this.runner.withClassLoader(new FilteredClassLoader(MeterBinder.class))
            .run(context -> assertThat(context).hasSingleBean(SpeculaChatModel.class)
                .doesNotHaveBean(SpeculaMetrics.class));
    }

    @Test
    void endpointIsAvailableWhenExposed() {
        this.runner.withPropertyValues("management.endpoints.web.exposure.include=specula").run(context -> {
            assertThat(context).hasSingleBean(SpeculativeEndpoint.class);
            for (DecodingListener listener : this.listeners) {
                listener.onStep(new StepEvent(3, 1, 2, 1_000, 2_000));
            }
            var descriptor = context.getBean(SpeculativeEndpoint.class).speculative();
            assertThat(descriptor.models().target()).isEqualTo("tiny-target");
            assertThat(descriptor.models().drafter()).isEqualTo("tiny-drafter");
            assertThat(descriptor.configuration().draftTokens()).isEqualTo(4);
            assertThat(descriptor.configuration().drafterLoaded()).isTrue();
            assertThat(descriptor.cumulative().draftedTokens()).isEqualTo(3);
            assertThat(descriptor.recent().acceptanceRate()).isEqualTo(1.0 / 3);
            assertThat(descriptor.acceptanceByPosition()).hasSize(3);
            assertThat(descriptor.acceptanceByPosition().get(0).acceptanceRate()).isEqualTo(1.0);
        });
    }

    @Test
    void endpointIsAbsentWhenNotExposedOrWithoutActuator() {
        this.runner.run(context -> assertThat(context).doesNotHaveBean(SpeculativeEndpoint.class));
        this.runner.withPropertyValues("management.endpoints.web.exposure.include=*")
            .withClassLoader(new FilteredClassLoader(Endpoint.class))
            .run(context -> assertThat(context).hasSingleBean(SpeculaChatModel.class)
                .doesNotHaveBean(SpeculativeEndpoint.class));
    }

    @Test
    void healthIndicatorReportsTheEngine() {
        this.runner.run(context -> {
            Health health = context.getBean(SpeculaHealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.UP);
            assertThat(health.getDetails()).containsEntry("target", "tiny-target")
                .containsEntry("drafter", "tiny-drafter")
                .containsEntry("device", "cpu");
        });
        this.runner.withPropertyValues("management.health.specula.enabled=false")
            .run(context -> assertThat(context).doesNotHaveBean(SpeculaHealthIndicator.class));
    }

    @Test
    void healthIsDownWhenTheEngineFails() {
        java.util.concurrent.atomic.AtomicBoolean broken = new java.util.concurrent.atomic.AtomicBoolean();
        given(this.engine.info()).willAnswer(invocation -> {
            if (broken.get()) {
                throw new IllegalStateException("engine closed");
            }
            return INFO;
        });
        this.runner.run(context -> {
            broken.set(true);
            Health health = context.getBean(SpeculaHealthIndicator.class).health();
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
        });
    }

    @Test
    void withoutActuatorOnlyTheChatModelIsConfigured() {
        this.runner.withPropertyValues("management.endpoints.web.exposure.include=*")
            .withClassLoader(new FilteredClassLoader("org.springframework.boot.actuate",
                    "org.springframework.boot.health"))
            .run(context -> assertThat(context).hasNotFailed()
                .hasSingleBean(SpeculaChatModel.class)
                .doesNotHaveBean(SpeculativeEndpoint.class)
                .doesNotHaveBean(SpeculaHealthIndicator.class));
    }
}
