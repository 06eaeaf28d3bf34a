package io.specula.engine;

import io.specula.model.CausalLm;
import io.specula.model.KvCache;

/**
 * Runs a model for a moment at start-up so the JIT compiles the Vector API kernels before the first request: until
 * C2 has compiled them they run many times slower, which would make the first answers (and the draft policy's first
 * cost estimates) misleading.
 */
final class WarmUp {

    private static final long BUDGET_NANOS = 1_500_000_000L;

    private WarmUp() {
    }

    /** Decodes single tokens and short multi-token passes until the budget is spent or enough passes have run. */
    static void run(CausalLm model) {
        long deadline = System.nanoTime() + BUDGET_NANOS;
        int capacity = Math.min(64, model.config().maxPositionEmbeddings());
        int[] five = {1, 2, 3, 4, 5};
        for (int round = 0; round < 40 && System.nanoTime() < deadline; round++) {
            try (KvCache cache = model.newCache(capacity)) {
                model.forward(five, cache, 5);
                for (int i = 0; i < 8 && cache.length() < capacity; i++) {
                    model.forward(new int[] {(round + i) % 16 + 1}, cache, 1);
                }
            }
        }
    }
}
