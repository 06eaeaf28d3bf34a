package io.specula.sample.chat;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.tomcat.TomcatContextCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
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

    /** Lets a queued API request see that its client hung up ({@link QueuedClientCheck}): Tomcat only. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = "org.apache.catalina.Valve")
    static class TomcatQueuedClientCheck {

        @Bean
        TomcatContextCustomizer queuedClientCheck() {
            return context -> context.getPipeline().addValve(new QueuedClientCheck.Capture());
        }
    }
}
