package io.specula.model;

import java.util.List;

/**
 * A {@link CausalLm} that runs the new positions of several sequences in one forward pass: every linear layer reads
 * its weights once for all of them, and each sequence attends over its own {@link KvCache}. This is what lets
 * concurrent requests share passes (continuous batching, {@code io.specula.engine.BatchScheduler}).
 *
 * <p><b>Lossless.</b> A segment's logits are bit for bit those that {@link #forward(int[], KvCache, int)} gives for
 * it alone, whatever the other segments of the pass are (the matrix kernels are batch-invariant:
 * {@link io.specula.kernel.MatMul}); so is splitting one sequence's tokens over several passes.
 */
public interface BatchedCausalLm extends CausalLm {

    /**
     * One sequence's part of a pass: {@code tokens} appended at {@code cache.length() ..}, and the logits that follow
     * the last {@code numLogits} of them wanted, as {@link #forward(int[], KvCache, int)} defines them.
     */
    record Segment(int[] tokens, KvCache cache, int numLogits) {
        public Segment {
            if (numLogits < 0 || numLogits > tokens.length) {
                throw new IllegalArgumentException("numLogits " + numLogits + " for " + tokens.length + " tokens");
            }
        }
    }

    /**
     * One pass over every segment (each on a different cache): {@code result[i]} is what
     * {@code forward(segments[i].tokens(), segments[i].cache(), segments[i].numLogits())} returns. Every segment is
     * checked (token ids, room in its cache) before any is computed; an error leaves every cache as it was.
     */
    float[][][] forward(List<Segment> segments);

    /**
     * Whether a pass of several segments really shares the work (the weights read once for all of them). False where
     * the model runs them one after another (a longrope model: {@code LlamaModel}); a scheduler then leaves the model
     * to per-request passes.
     */
    default boolean sharesPasses() {
        return true;
    }

    @Override
    default float[][] forward(int[] tokens, KvCache cache, int numLogits) {
        return forward(List.of(new Segment(tokens, cache, numLogits)))[0];
    }
}
