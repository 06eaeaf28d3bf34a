package io.specula.generate;

import io.specula.tokenizer.StreamingDetokenizer;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class OutputSinkTest {

    /** Token i decodes to the i-th string; enough to exercise stops, EOS and limits without a real tokenizer. */
    private static final String[] PIECES = {"", "Hello", ",", " wor", "ld", "!", "\n", "EN", "D", " more"};

    private static StreamingDetokenizer detokenizer() {
        return new StreamingDetokenizer() {
            @Override
            public String push(int tokenId) {
                return PIECES[tokenId];
            }

            @Override
            public String flush() {
                return "";
            }
        };
    }

    private final List<String> deltas = new ArrayList<>();

    private OutputSink sink(int maxTokens, List<String> stops) {
        GenerationRequest request = new GenerationRequest(new int[] {1}, maxTokens, SamplingParams.GREEDY, stops,
                List.of(), null);
        return new OutputSink(request, Set.of(0), detokenizer(), (id, delta, source) -> deltas.add(delta));
    }

    private static int feed(OutputSink sink, int... tokens) {
        int fed = 0;
        for (int t : tokens) {
            fed++;
            if (sink.accept(t, TokenSource.TARGET)) {
                break;
            }
        }
        return fed;
    }

    @Test
    void eosEndsTheOutputWithoutBeingPartOfIt() {
        OutputSink sink = sink(10, List.of());
        assertThat(feed(sink, 1, 2, 0, 5)).isEqualTo(3);
        assertThat(sink.tokens()).containsExactly(1, 2);
        assertThat(sink.text()).isEqualTo("Hello,");
        assertThat(sink.finishReason()).isEqualTo(FinishReason.STOP);
    }

    @Test
    void maxTokensEndsTheOutputExactlyAtTheLimit() {
        OutputSink sink = sink(3, List.of());
        assertThat(feed(sink, 1, 2, 3, 4, 5)).isEqualTo(3);
        assertThat(sink.tokens()).containsExactly(1, 2, 3);
        assertThat(sink.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(String.join("", deltas)).isEqualTo("Hello, wor");
    }

    @Test
    void stopSequenceSpanningTokensCutsTheTextBeforeIt() {
        OutputSink sink = sink(20, List.of("END"));
        assertThat(feed(sink, 1, 6, 7, 8, 9)).isEqualTo(4);
        assertThat(sink.text()).isEqualTo("Hello\n");
        assertThat(sink.tokens()).containsExactly(1, 6, 7, 8);
        assertThat(sink.finishReason()).isEqualTo(FinishReason.STOP);
        // The streamed text never showed any part of the stop sequence.
        assertThat(String.join("", deltas)).isEqualTo("Hello\n");
    }

    @Test
    void heldBackTextIsReleasedWhenTheStopDoesNotComplete() {
        OutputSink sink = sink(4, List.of("ENX"));
        feed(sink, 1, 7, 8, 5);
        assertThat(sink.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(String.join("", deltas)).isEqualTo("HelloEND!");
    }

    @Test
    void stopInsideOneTokensTextCutsInsideIt() {
        OutputSink sink = sink(20, List.of("or"));
        feed(sink, 1, 3, 4);
        assertThat(sink.text()).isEqualTo("Hello w");
        assertThat(String.join("", deltas)).isEqualTo("Hello w");
    }
}
