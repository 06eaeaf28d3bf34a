package io.specula.sample.chat;

import java.io.IOException;
import java.time.Duration;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import org.junit.jupiter.api.Test;

import org.springframework.mock.web.MockHttpServletResponse;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * When {@link ClientConnection} probes: the first two probes at once (the first write after a hang-up succeeds, so a
 * client that left while its request was queued is seen at the second chunk, not an interval later), then at most once
 * per interval; a failed write means the client is gone.
 */
class ClientConnectionTests {

    /** A response whose writes fail once the client "hangs up" (as Tomcat's do after the peer's reset). */
    static final class Response extends MockHttpServletResponse {
        int writes;
        boolean hungUp;
        boolean resetSeen;

        @Override
        public ServletOutputStream getOutputStream() {
            return new ServletOutputStream() {
                @Override
                public void write(int b) throws IOException {
                    if (Response.this.resetSeen) {
                        throw new IOException("Broken pipe");
                    }
                    // The first write after a hang-up succeeds; the peer answers it with a reset.
                    Response.this.resetSeen = Response.this.hungUp;
                    Response.this.writes++;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setWriteListener(WriteListener listener) {
                }
            };
        }
    }

    @Test
    void aClientThatLeftBeforeTheAnswerIsSeenAtTheSecondProbeWhateverTheInterval() {
        Response response = new Response();
        response.hungUp = true;
        ClientConnection client = new ClientConnection(response, Duration.ofHours(1));
        assertThat(client.alive()).as("first probe: the write succeeds").isTrue();
        assertThat(client.probed()).isTrue();
        assertThat(response.getStatus()).isEqualTo(200);
        assertThat(response.getContentType()).isEqualTo("application/json");
        assertThat(client.alive()).as("second probe, at once").isFalse();
    }

    @Test
    void afterTheFirstTwoProbesOneProbePerInterval() throws Exception {
        Response response = new Response();
        ClientConnection client = new ClientConnection(response, Duration.ofMillis(200));
        assertThat(client.alive()).isTrue();
        assertThat(client.alive()).isTrue();
        assertThat(response.writes).isEqualTo(2);
        for (int i = 0; i < 100; i++) {
            assertThat(client.alive()).isTrue();
        }
        assertThat(response.writes).as("within the interval").isEqualTo(2);
        Thread.sleep(250);
        assertThat(client.alive()).isTrue();
        assertThat(response.writes).isEqualTo(3);
    }

    @Test
    void withAZeroIntervalEveryChanceIsAProbe() {
        Response response = new Response();
        ClientConnection client = new ClientConnection(response, Duration.ZERO);
        for (int i = 0; i < 5; i++) {
            assertThat(client.alive()).isTrue();
        }
        assertThat(response.writes).isEqualTo(5);
        response.hungUp = true;
        assertThat(client.alive()).isTrue();
        assertThat(client.alive()).isFalse();
    }
}
