/**
 * Speculative decoding, split the way vLLM splits it, one job per class (each part uses only those listed before it
 * in the loop's order: drafter, verify, policy, stats, the loop; {@code LayeringTest} checks it):
 * <ul>
 *   <li>{@link io.specula.speculative.SpeculativeGenerator}: the decoding loop (a {@link io.specula.generate.Generator},
 *       interchangeable with {@link io.specula.generate.PlainGenerator} and producing the same output), and
 *       {@link io.specula.speculative.SpeculationSettings}, what one request asks of it;</li>
 *   <li>{@code drafter}: who proposes tokens — {@link io.specula.speculative.drafter.ModelDrafter} (a small model),
 *       {@link io.specula.speculative.drafter.NgramDrafter} (prompt lookup), and
 *       {@link io.specula.speculative.drafter.VocabularyCheck} for loading;</li>
 *   <li>{@code verify}: one target pass over the draft ({@link io.specula.speculative.verify.Verifier}) and the rule
 *       that keeps the output exact ({@link io.specula.speculative.verify.GreedyAcceptance},
 *       {@link io.specula.speculative.verify.RejectionSampler});</li>
 *   <li>{@code policy}: how many tokens to draft each step — {@link io.specula.speculative.policy.DraftPolicy} names
 *       the choice (and owns the rules of γ), {@link io.specula.speculative.policy.AdaptivePolicy} (default,
 *       cost-aware, turns speculation off when it does not pay), fixed, heuristic, confidence;</li>
 *   <li>{@code stats}: the one count, named after vLLM's metrics
 *       ({@link io.specula.speculative.stats.SpeculationStatistics}), per request and engine-wide.</li>
 * </ul>
 */
package io.specula.speculative;
