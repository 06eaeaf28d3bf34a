package io.specula.autoconfigure;

import io.specula.chat.SpeculaChatModel;

import org.springframework.ai.chat.client.AdvisorParams;
import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.client.ChatClientBuilderCustomizer;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.context.annotation.Bean;

/**
 * {@link AutoConfiguration Auto-configuration} of the auto-configured {@code ChatClient.Builder} for Specula:
 * {@code .entity(..)} uses the provider's structured output by default (Spring AI's
 * {@link AdvisorParams#ENABLE_NATIVE_STRUCTURED_OUTPUT}), which for Specula is decoding constrained by the JSON
 * schema's grammar: the answer is valid JSON for the type, from any model, and stays exact under speculation. Spring
 * AI leaves native structured output off by default because providers' support varies; Specula's cannot fail that way.
 * {@code spring.ai.specula.chat.native-structured-output=false} goes back to Spring AI's default (format instructions
 * appended to the prompt, nothing constrained).
 */
@AutoConfiguration(after = SpeculaChatAutoConfiguration.class)
@ConditionalOnClass({ ChatClient.class, ChatClientBuilderCustomizer.class, SpeculaChatModel.class })
@ConditionalOnBean(SpeculaChatModel.class)
@ConditionalOnProperty(prefix = SpeculaChatProperties.CONFIG_PREFIX, name = "native-structured-output",
        havingValue = "true", matchIfMissing = true)
public class SpeculaChatClientAutoConfiguration {

    @Bean
    public ChatClientBuilderCustomizer speculaStructuredOutputCustomizer() {
        return builder -> builder.defaultAdvisors(AdvisorParams.ENABLE_NATIVE_STRUCTURED_OUTPUT);
    }
}
