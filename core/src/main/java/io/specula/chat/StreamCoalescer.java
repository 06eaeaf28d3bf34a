package io.specula.chat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

import io.specula.generate.TokenSource;
import org.jspecify.annotations.Nullable;

/**
 * Gathers a stream's text deltas into chunks by time: the first text goes out at once (the time to the first token is
 * not delayed), later text once {@code interval} has passed since the last chunk, so a fast generation sends a few
 * chunks a second instead of one per token. Every chunk (a Spring AI {@code ChatResponse}, then typically a
 * server-sent event, JSON and a network flush) costs the decoding thread time; at ~250 tokens/s one per token cost the
 * sample a fifth of its speed. Text is never held longer than the interval plus one decoding step: a chunk is due when
 * a token arrives after the interval, and a generation slower than the interval sends every token at once.
 *
 * <p>Each chunk keeps what a per-token stream told: the source of every token it carries, and its text split into
 * segments by source (drafted tokens the target accepted, tokens the target produced itself). Used by one decoding
 * thread.
 */
final class StreamCoalescer {

    /** A chunk's contents. */
    record Chunk(String text, List<String> sources, List<SpeculaChatMetadata.TextSegment> segments) {
    }

    private final long intervalNanos;

    private final LongSupplier clock;

    private final StringBuilder text = new StringBuilder();

    private final List<String> sources = new ArrayList<>();

    private final List<SpeculaChatMetadata.TextSegment> segments = new ArrayList<>();

    private @Nullable String segmentSource;

    private final StringBuilder segment = new StringBuilder();

    private boolean sentAny;

    private long lastSent;

    StreamCoalescer(long intervalNanos, LongSupplier clock) {
        this.intervalNanos = intervalNanos;
        this.clock = clock;
    }

    /**
     * Adds one token's delta (see {@code GenerationListener}); returns true when a chunk is due ({@link #take}).
     */
    boolean add(int tokenId, @Nullable String textDelta, @Nullable TokenSource source) {
        if (tokenId >= 0 && source != null) {
            this.sources.add(source.name());
        }
        if (textDelta == null || textDelta.isEmpty()) {
            return false;
        }
        String name = source != null ? source.name() : TokenSource.TARGET.name();
        if (!name.equals(this.segmentSource)) {
            closeSegment();
            this.segmentSource = name;
        }
        this.segment.append(textDelta);
        this.text.append(textDelta);
        return !this.sentAny || this.clock.getAsLong() - this.lastSent >= this.intervalNanos;
    }

    /** What was gathered since the last chunk (possibly nothing), and starts the next chunk. */
    Chunk take() {
        closeSegment();
        Chunk chunk = new Chunk(this.text.toString(), List.copyOf(this.sources), List.copyOf(this.segments));
        this.text.setLength(0);
        this.sources.clear();
        this.segments.clear();
        this.segmentSource = null;
        this.sentAny = true;
        this.lastSent = this.clock.getAsLong();
        return chunk;
    }

    private void closeSegment() {
        if (this.segment.length() > 0) {
            this.segments.add(new SpeculaChatMetadata.TextSegment(this.segment.toString(), this.segmentSource));
            this.segment.setLength(0);
        }
    }
}
