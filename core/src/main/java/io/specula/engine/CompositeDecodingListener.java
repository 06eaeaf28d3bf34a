package io.specula.engine;

import io.specula.generate.DecodingListener;
import io.specula.generate.DecodingStats;
import io.specula.generate.FinishReason;
import io.specula.generate.RequestLatency;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Fans the engine's statistics out to every registered listener; a failing listener never fails a request. */
final class CompositeDecodingListener implements DecodingListener {

    private final List<DecodingListener> listeners = new CopyOnWriteArrayList<>();

    void add(DecodingListener listener) {
        listeners.add(listener);
    }

    @Override
    public void onStep(StepEvent step) {
        for (DecodingListener l : listeners) {
            try {
                l.onStep(step);
            } catch (RuntimeException ignored) {
                // Statistics must not break decoding.
            }
        }
    }

    @Override
    public void onRequestFinished(DecodingStats stats, FinishReason reason) {
        for (DecodingListener l : listeners) {
            try {
                l.onRequestFinished(stats, reason);
            } catch (RuntimeException ignored) {
                // Statistics must not break decoding.
            }
        }
    }

    @Override
    public void onRequestLatency(RequestLatency latency) {
        for (DecodingListener l : listeners) {
            try {
                l.onRequestLatency(latency);
            } catch (RuntimeException ignored) {
                // Statistics must not break decoding.
            }
        }
    }

    @Override
    public void onDrafterFault(String drafter, Throwable cause) {
        for (DecodingListener l : listeners) {
            try {
                l.onDrafterFault(drafter, cause);
            } catch (RuntimeException ignored) {
                // Statistics must not break decoding.
            }
        }
    }
}
