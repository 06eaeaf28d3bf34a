package io.specula.engine;

import io.specula.model.BatchedCausalLm;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A model as the requests of a {@link BatchScheduler} call it: its forward passes are shared with the other running
 * requests', and opening and closing a cache is a request joining and leaving the running set.
 */
final class SharedModel implements CausalLm {
    final BatchedCausalLm model;
    private final BatchScheduler scheduler;

    SharedModel(BatchScheduler scheduler, BatchedCausalLm model) {
        this.scheduler = scheduler;
        this.model = model;
    }

    @Override
    public ModelConfig config() {
        return model.config();
    }

    @Override
    public int vocabSize() {
        return model.vocabSize();
    }

    @Override
    public KvCache newCache(int capacity) {
        KvCache cache = model.newCache(capacity);
        scheduler.opened();
        return new SharedCache(cache, Thread.currentThread());
    }

    @Override
    public float[][] forward(int[] tokens, KvCache cache, int numLogits) {
        if (!(cache instanceof SharedCache shared)) {
            throw new IllegalArgumentException("a cache from another model: " + cache.getClass().getName());
        }
        return scheduler.submit(model, tokens, shared.cache, numLogits);
    }

    @Override
    public void close() {
        // The engine closes the model itself.
    }

    /** A sequence's cache; opening and closing it is the request joining and leaving the running set. */
    private final class SharedCache implements KvCache {
        private final KvCache cache;
        private final Thread owner;
        private final AtomicBoolean open = new AtomicBoolean(true);

        SharedCache(KvCache cache, Thread owner) {
            this.cache = cache;
            this.owner = owner;
        }

        @Override
        public int length() {
            return cache.length();
        }

        @Override
        public int capacity() {
            return cache.capacity();
        }

        @Override
        public void truncate(int length) {
            cache.truncate(length);
        }

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) {
                scheduler.closed(owner);
                cache.close();
            }
        }
    }
}
