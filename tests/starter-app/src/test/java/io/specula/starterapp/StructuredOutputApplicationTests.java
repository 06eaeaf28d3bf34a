package io.specula.starterapp;

import java.util.List;

import io.specula.chat.SpeculaChatOptions;
import io.specula.generate.structured.SchemaCheck;
import org.junit.jupiter.api.Test;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.converter.BeanOutputConverter;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Structured output as an application asks for it, from a tiny random model that knows nothing of JSON: ChatClient's
 * {@code .entity(..)} with the provider's structured output, and a stream with the schema in the options. The answer
 * parses, matches the schema (checked independently of the grammar) and converts to the record; greedy constrained
 * speculative output equals greedy constrained plain output.
 */
@SpringBootTest(classes = StarterApplication.class, properties = "spring.ai.specula.chat.max-tokens=400")
class StructuredOutputApplicationTests {

    enum Colour { RED, GREEN, BLUE }

    record Address(String street, int number) {
    }

    record Person(String name, int age, boolean active, double height, Colour colour, Address address,
            List<String> tags, List<Address> others) {
    }

    @DynamicPropertySource
    static void models(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.specula.target", () -> TinyModelPair.target().toString());
        registry.add("spring.ai.specula.drafter", () -> TinyModelPair.drafter().toString());
    }

    @Autowired
    ChatClient.Builder chatClientBuilder;

    final BeanOutputConverter<Person> converter = new BeanOutputConverter<>(Person.class);

    @Test
    void entityReturnsARecordFromARandomModel() {
        ChatClient chatClient = this.chatClientBuilder.build();
        for (long seed = 1; seed <= 3; seed++) {
            Person person = chatClient.prompt()
                .user("Invent a person.")
                .options(SpeculaChatOptions.builder().temperature(1.0).seed(seed))
                .call()
                .entity(Person.class, spec -> spec.useProviderStructuredOutput());
            assertThat(person).isNotNull();
            assertThat(person.name()).isNotNull();
            assertThat(person.colour()).isNotNull();
            assertThat(person.address()).isNotNull();
            assertThat(person.address().street()).isNotNull();
            assertThat(person.tags()).isNotNull();
            assertThat(person.others()).isNotNull().doesNotContainNull();
        }
    }

    @Test
    void entityIsConstrainedWithoutAskingForIt() {
        // The starter turns on the provider's structured output for .entity(..): no format instructions to follow.
        Person person = this.chatClientBuilder.build()
            .prompt()
            .user("Invent a person.")
            .options(SpeculaChatOptions.builder().temperature(1.0).seed(42L))
            .call()
            .entity(Person.class);
        assertThat(person).isNotNull();
        assertThat(person.address()).isNotNull();
        assertThat(person.tags()).isNotNull();
    }

    @Test
    void callAndStreamGiveJsonValidForTheSchema() {
        String schema = this.converter.getJsonSchema();
        ChatClient chatClient = this.chatClientBuilder.build();
        for (long seed = 1; seed <= 3; seed++) {
            SpeculaChatOptions.Builder options = SpeculaChatOptions.builder().temperature(1.0).seed(seed)
                .outputSchema(schema);
            String called = chatClient.prompt().user("Invent a person.").options(options).call().content();
            assertThat(SchemaCheck.violations(schema, called)).as(called).isEmpty();
            assertThat(this.converter.convert(called)).isNotNull();

            String streamed = String.join("", chatClient.prompt().user("Invent a person.").options(options)
                .stream().content().collectList().block());
            assertThat(SchemaCheck.violations(schema, streamed)).as(streamed).isEmpty();
            assertThat(this.converter.convert(streamed)).isNotNull();
            // (Not compared with the call's answer: under sampling the adaptive policy's draft lengths, which follow
            // measured timings, change which random draws the same seed gives; the distribution is the same.)
        }
    }

    @Test
    void greedyConstrainedSpeculativeOutputEqualsConstrainedPlainOutput() {
        String schema = this.converter.getJsonSchema();
        ChatClient chatClient = this.chatClientBuilder.build();
        String plain = chatClient.prompt().user("Invent a person.")
            .options(SpeculaChatOptions.builder().temperature(0.0).speculative(false).outputSchema(schema))
            .call().content();
        String speculative = chatClient.prompt().user("Invent a person.")
            .options(SpeculaChatOptions.builder().temperature(0.0).speculative(true).outputSchema(schema))
            .call().content();
        assertThat(speculative).isEqualTo(plain);
        assertThat(SchemaCheck.violations(schema, plain)).as(plain).isEmpty();
    }
}
