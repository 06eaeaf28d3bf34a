package io.specula.adaptive;

import io.specula.generate.FinishReason;
import io.specula.speculative.VerificationObserver;
import io.specula.speculative.drafter.DraftSession;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The adaptive drafter's collecting side: as a {@link VerificationObserver} it sees, for every output token of a
 * speculative request, the target's logits that chose it; a {@link RequestRecorder} keeps the top-k of that
 * distribution and the token, and at the end of the request its training windows go into the bounded
 * {@link ExampleBuffer} (about {@code heldOutFraction} of the requests to a held-out slice instead). It also counts,
 * per drafter version, what that version drafted and got accepted in live traffic.
 */
final class TrafficRecorder implements VerificationObserver {

    private final AdaptiveConfig config;
    private final ExampleBuffer buffer;
    private final int readableVocab;
    private final AtomicLong requestIds = new AtomicLong();
    private volatile boolean closed;

    /** @param readableVocab ids the drafter can read and predict; a request with other ids is not kept */
    TrafficRecorder(AdaptiveConfig config, ExampleBuffer buffer, int readableVocab) {
        this.config = config;
        this.buffer = buffer;
        this.readableVocab = readableVocab;
    }

    @Override
    public Trace open(int[] promptIds, DraftSession session) {
        return open(promptIds, session, 1);
    }

    /** As {@link #open(int[], DraftSession)}, for a request decoded by target version {@code target}. */
    Trace open(int[] promptIds, DraftSession session, int target) {
        if (closed || !config.enabled()) {
            return null;
        }
        DrafterVersions.VersionStats stats = DrafterVersions.statsOf(session);
        if (stats != null) {
            stats.requests.incrementAndGet();
        }
        RequestRecorder recorder = new RequestRecorder(requestIds.getAndIncrement(), promptIds, config.topK(),
                config.windowTokens(), 4 * config.windowTokens(), readableVocab, target);
        return new Trace() {
            @Override
            public void token(float[] logits, int token) {
                recorder.token(logits, token);
            }

            @Override
            public void step(int drafted, int acceptedTokens) {
                if (stats != null) {
                    stats.drafted.addAndGet(drafted);
                    stats.accepted.addAndGet(acceptedTokens);
                }
            }

            @Override
            public void close(FinishReason reason) {
                if (reason != null && !closed) {
                    buffer.add(recorder.examples());
                }
            }
        };
    }

    /** Requests that end from now on are not collected. */
    void close() {
        closed = true;
    }
}
