/**
 * Speculative decoding, split the way vLLM splits it, one job per class:
 * <ul>
 *   <li>{@link io.specula.speculative.SpeculativeGenerator}: the decoding loop (a {@link io.specula.generate.Generator},
 *       interchangeable with {@link io.specula.generate.PlainGenerator} and producing the same output);</li>
 *   <li>{@code drafter}: who proposes tokens — {@link io.specula.speculative.drafter.ModelDrafter} (a small model),
 *       {@link io.specula.speculative.drafter.NgramDrafter} (prompt lookup), and
 *       {@link io.specula.speculative.drafter.VocabularyCheck} for loading;</li>
 *   <li>{@code verify}: one target pass over the draft ({@link io.specula.speculative.verify.Verifier}) and the rule
 *       that keeps the output exact ({@link io.specula.speculative.verify.GreedyAcceptance},
 *       {@link io.specula.speculative.verify.RejectionSampler});</li>
 *   <li>{@code policy}: how many tokens to draft each step — {@link io.specula.speculative.policy.AdaptivePolicy}
 *       (default, cost-aware, turns speculation off when it does not pay), fixed, heuristic, confidence;</li>
 *   <li>{@code stats}: engine-wide counters named after vLLM's
 *       ({@link io.specula.speculative.stats.SpeculationStatistics}).</li>
 * </ul>
 */
package io.specula.speculative;
