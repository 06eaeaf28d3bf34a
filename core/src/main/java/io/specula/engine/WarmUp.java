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
    static void run(CausalLm model, int contextLength) {
        long deadline = System.nanoTime() + BUDGET_NANOS;
        int capacity = Math.min(64, contextLength);
        for (int round = 0; round < 40 && System.nanoTime() < deadline; round++) {
            try (KvCache cache = model.newCache(capacity)) {
                // Every pass width a verification uses (1..9 positions): the kernels have separate loops for 1 to 5
                // positions, and the draft policy's cost estimates start from the first passes it measures.
                for (int width = 1; width <= 9 && cache.length() + width <= capacity; width++) {
                    int[] tokens = new int[width];
                    for (int i = 0; i < width; i++) {
                        tokens[i] = (round + width + i) % 16 + 1;
                    }
                    model.forward(tokens, cache, width);
                }
            }
        }
    }
}
