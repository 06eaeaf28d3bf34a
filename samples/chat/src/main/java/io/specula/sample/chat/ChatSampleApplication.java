package io.specula.sample.chat;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;

/**
 * The Specula chat sample: the starter wires the model pair from {@code application.yml}; this application adds a
 * REST and a server-sent-events endpoint over Spring AI's {@code ChatClient}, a start-up benchmark (plain target
 * against speculative decoding) and a web page at {@code /}.
 */
@SpringBootApplication
@EnableConfigurationProperties(SampleProperties.class)
public class ChatSampleApplication {

    public static void main(String[] args) {
        SpringApplication.run(ChatSampleApplication.class, args);
    }
}
