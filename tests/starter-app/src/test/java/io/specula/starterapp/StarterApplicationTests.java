package io.specula.starterapp;

import java.util.List;

import io.specula.chat.SpeculaChatMetadata;
import io.specula.chat.SpeculaChatModel;
import io.specula.engine.SpeculaEngine;
import org.junit.jupiter.api.Test;

import org.springframework.ai.chat.client.ChatClient;
import org.springframework.ai.chat.client.advisor.MessageChatMemoryAdvisor;
import org.springframework.ai.chat.memory.ChatMemory;
import org.springframework.ai.chat.messages.MessageType;
import org.springframework.ai.chat.model.ChatModel;
import org.springframework.ai.chat.model.ChatResponse;
import org.springframework.ai.model.tool.ToolCallingManager;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An application that declares only the starter, as a plain dependency: it starts, and decodes on the CPU without
 * DJL's PyTorch engine or libtorch on the classpath; the beans a Spring AI model starter brings are there (ChatClient,
 * ChatMemory, ToolCallingManager), and chat memory carries a conversation over two turns.
 */
@SpringBootTest(classes = StarterApplication.class,
        properties = { "spring.ai.specula.chat.temperature=0", "spring.ai.specula.chat.max-tokens=12" })
class StarterApplicationTests {

    @DynamicPropertySource
    static void models(DynamicPropertyRegistry registry) {
        registry.add("spring.ai.specula.target", () -> TinyModelPair.target().toString());
        registry.add("spring.ai.specula.drafter", () -> TinyModelPair.drafter().toString());
    }

    @Autowired
    ChatModel chatModel;

    @Autowired
    ChatClient.Builder chatClientBuilder;

    @Autowired
    ChatMemory chatMemory;

    @Autowired
    ToolCallingManager toolCallingManager;

    @Autowired
    SpeculaEngine engine;

    @Test
    void theStarterBringsNoPyTorchEngine() {
        assertThatThrownBy(() -> Class.forName("ai.djl.pytorch.engine.PtEngine"))
            .isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> Class.forName("ai.djl.pytorch.jni.LibUtils"))
            .isInstanceOf(ClassNotFoundException.class);
        assertThat(getClass().getClassLoader().getResource("pytorch.properties")).isNull();
        // DJL's Hugging Face tokenizers come with their own native library, and no libtorch.
        assertThat(getClass().getClassLoader().getResource("native/lib/tokenizers.properties")).isNotNull();
    }

    @Test
    void decodesOnTheCpuSpeculativelyThroughChatClient() {
        assertThat(this.chatModel).isInstanceOf(SpeculaChatModel.class);
        assertThat(this.engine.info().device()).isEqualTo("cpu");
        ChatClient chatClient = this.chatClientBuilder.build();

        ChatResponse response = chatClient.prompt().user("Tell me about the fox").call().chatResponse();
        assertThat(response.getMetadata().getUsage().getCompletionTokens()).isPositive();
        assertThat((Boolean) response.getResult().getMetadata().get(SpeculaChatMetadata.SPECULATIVE)).isTrue();

        List<String> chunks = chatClient.prompt().user("Tell me about the fox").stream().content().collectList()
            .block();
        assertThat(String.join("", chunks)).isEqualTo(response.getResult().getOutput().getText());
    }

    @Test
    void chatMemoryCarriesTheConversationOverTwoTurns() {
        ChatClient chatClient = this.chatClientBuilder
            .defaultAdvisors(MessageChatMemoryAdvisor.builder(this.chatMemory).build())
            .build();
        String conversation = "two-turns";

        ChatResponse first = chatClient.prompt()
            .user("My name is Fox.")
            .advisors(a -> a.param(ChatMemory.CONVERSATION_ID, conversation))
            .call()
            .chatResponse();
        ChatResponse second = chatClient.prompt()
            .user("What is my name?")
            .advisors(a -> a.param(ChatMemory.CONVERSATION_ID, conversation))
            .call()
            .chatResponse();

        assertThat(this.chatMemory.get(conversation)).extracting(m -> m.getMessageType())
            .containsExactly(MessageType.USER, MessageType.ASSISTANT, MessageType.USER, MessageType.ASSISTANT);
        assertThat(this.chatMemory.get(conversation).get(1).getText())
            .isEqualTo(first.getResult().getOutput().getText());
        // The second prompt holds the first turn: its question, the answer and the new question.
        int firstPrompt = first.getMetadata().getUsage().getPromptTokens();
        int firstAnswer = first.getMetadata().getUsage().getCompletionTokens();
        assertThat(second.getMetadata().getUsage().getPromptTokens()).isGreaterThan(firstPrompt + firstAnswer);
        // Another conversation starts empty.
        assertThat(this.chatMemory.get("another")).isEmpty();
    }
}
