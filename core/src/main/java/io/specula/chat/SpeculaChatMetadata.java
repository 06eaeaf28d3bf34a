package io.specula.chat;

/**
 * Keys of the metadata a {@link SpeculaChatModel} puts on each {@code Generation} ({@code ChatGenerationMetadata})
 * and on the {@code AssistantMessage} (its metadata map). They sit there, not in {@code ChatResponseMetadata},
 * because Spring AI's {@code MessageAggregator} keeps generation and message metadata when it aggregates a stream but
 * drops custom response metadata.
 *
 * <p>
 * The statistics keys are set on the response of {@code call} and on the last chunk of {@code stream};
 * {@link #TOKEN_SOURCES} and {@link #TEXT_SEGMENTS} on every streamed chunk. A streamed chunk carries the text of
 * several tokens (chunks are gathered by time: {@link SpeculaChatModel.Builder#streamInterval}).
 */
public final class SpeculaChatMetadata {

    /** Boolean: whether a drafter proposed tokens for this request. */
    public static final String SPECULATIVE = "speculative";

    /** String: the drafter's name, "ngram", or "none". */
    public static final String DRAFT_MODEL = "draft-model";

    /** Long: verification steps that scored at least one drafted token. */
    public static final String DRAFTS = "drafts";

    /** Long: tokens the drafter proposed and the target scored. */
    public static final String DRAFTED_TOKENS = "drafted-tokens";

    /** Long: drafted tokens the target accepted. */
    public static final String ACCEPTED_TOKENS = "accepted-tokens";

    /** Double: accepted / drafted tokens (0 when nothing was drafted). */
    public static final String ACCEPTANCE_RATE = "acceptance-rate";

    /** Double: 1 + accepted tokens / drafts, the tokens produced per target pass while speculating. */
    public static final String MEAN_ACCEPTANCE_LENGTH = "mean-acceptance-length";

    /** Double: output tokens per second of decoding (after the prompt). */
    public static final String TOKENS_PER_SECOND = "tokens-per-second";

    /**
     * Double: seconds from the request reaching the engine to its first output token (queue, template and tokenizer,
     * prompt processing, first step); absent when the answer has no token. The same figure as the
     * {@code gen_ai.server.time_to_first_token} meter.
     */
    public static final String TIME_TO_FIRST_TOKEN = "time-to-first-token";

    /**
     * Double: seconds from the request reaching the engine to its decoding slot (the admission queue's wait, with the
     * template and tokenizer work before it). The same figure as the {@code specula.request.queue.time} meter.
     */
    public static final String QUEUE_TIME = "queue-time";

    /**
     * {@code List<String>} of "DRAFTER" / "TARGET", one per output token whose text this chunk carries, in order:
     * DRAFTER for a drafted token the target accepted, TARGET for a token the target produced itself.
     */
    public static final String TOKEN_SOURCES = "token-sources";

    /**
     * {@code List<TextSegment>}: the chunk's text split by the source of the tokens that produced it, in order (the
     * segments' texts concatenate to the chunk's text), so that a client can show which text came from drafted tokens.
     */
    public static final String TEXT_SEGMENTS = "text-segments";

    /**
     * A stretch of streamed text produced by tokens of one source.
     *
     * @param text   the text
     * @param source "DRAFTER" (drafted tokens the target accepted) or "TARGET" (tokens the target produced itself)
     */
    public record TextSegment(String text, String source) {
    }

    private SpeculaChatMetadata() {
    }
}
