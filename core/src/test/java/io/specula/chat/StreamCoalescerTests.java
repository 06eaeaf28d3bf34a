package io.specula.chat;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import io.specula.generate.TokenSource;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class StreamCoalescerTests {

    static final long MS = 1_000_000;

    final AtomicLong now = new AtomicLong(1_000 * MS);

    final StreamCoalescer coalescer = new StreamCoalescer(50 * MS, this.now::get);

    @Test
    void theFirstTextIsDueAtOnceAndLaterTextOnceTheIntervalPassed() {
        // A partial character first: no text, nothing due; its source goes with the next chunk.
        assertThat(this.coalescer.add(1, "", TokenSource.TARGET)).isFalse();
        assertThat(this.coalescer.add(2, "Hel", TokenSource.TARGET)).isTrue();
        StreamCoalescer.Chunk first = this.coalescer.take();
        assertThat(first.text()).isEqualTo("Hel");
        assertThat(first.sources()).containsExactly("TARGET", "TARGET");

        this.now.addAndGet(3 * MS);
        assertThat(this.coalescer.add(3, "lo", TokenSource.DRAFTER)).isFalse();
        this.now.addAndGet(3 * MS);
        assertThat(this.coalescer.add(4, " wo", TokenSource.DRAFTER)).isFalse();
        this.now.addAndGet(3 * MS);
        assertThat(this.coalescer.add(5, "rld", TokenSource.TARGET)).isFalse();
        this.now.addAndGet(41 * MS);
        // 50 ms after the first chunk: due.
        assertThat(this.coalescer.add(6, "!", TokenSource.TARGET)).isTrue();
        StreamCoalescer.Chunk second = this.coalescer.take();
        assertThat(second.text()).isEqualTo("lo world!");
        assertThat(second.sources()).containsExactly("DRAFTER", "DRAFTER", "TARGET", "TARGET");
        assertThat(second.segments()).containsExactly(new SpeculaChatMetadata.TextSegment("lo wo", "DRAFTER"),
                new SpeculaChatMetadata.TextSegment("rld!", "TARGET"));
    }

    @Test
    void aSlowGenerationSendsEveryTokenAtOnce() {
        for (int i = 0; i < 5; i++) {
            this.now.addAndGet(80 * MS);
            assertThat(this.coalescer.add(i, "t" + i, TokenSource.TARGET)).isTrue();
            assertThat(this.coalescer.take().text()).isEqualTo("t" + i);
        }
    }

    @Test
    void heldBackTextAtTheEndCountsAsTheTargetsAndNothingLeftIsAnEmptyChunk() {
        assertThat(this.coalescer.add(1, "a", TokenSource.DRAFTER)).isTrue();
        this.coalescer.take();
        assertThat(this.coalescer.add(-1, "b", null)).isFalse();
        StreamCoalescer.Chunk rest = this.coalescer.take();
        assertThat(rest.text()).isEqualTo("b");
        assertThat(rest.sources()).isEmpty();
        assertThat(rest.segments()).containsExactly(new SpeculaChatMetadata.TextSegment("b", "TARGET"));
        StreamCoalescer.Chunk nothing = this.coalescer.take();
        assertThat(nothing.text()).isEmpty();
        assertThat(nothing.segments()).isEqualTo(List.of());
    }
}
