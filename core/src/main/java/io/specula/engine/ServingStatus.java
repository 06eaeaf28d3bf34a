package io.specula.engine;

/**
 * The engine's load at one moment, for gauges, the health check and the Actuator endpoint. Counts only: nothing of
 * any request's content.
 *
 * @param inFlight              requests decoding now
 * @param queued                requests waiting for a slot
 * @param maxConcurrentRequests the configured slots
 * @param maxQueuedRequests     the configured queue length
 * @param kvCacheBytesReserved  KV cache memory reserved by the requests in flight
 * @param kvCacheBudgetBytes    the configured budget; 0 = no bound
 * @param longestStallNanos     the longest time any request in flight has gone without progress (a decoding step or
 *                              the end of its prompt pass); 0 when nothing is in flight. A large value means a wedged
 *                              engine
 * @param admitted              requests admitted since start-up
 * @param rejectedQueueFull     requests refused because the queue was full
 * @param rejectedQueueTimeout  requests refused because they waited longer than the queue timeout
 * @param rejectedKvCacheBudget requests refused because their KV cache alone exceeds the budget
 * @param cancelledWhileQueued  requests cancelled before they got a slot
 * @param closed                whether the engine has been closed
 */
public record ServingStatus(int inFlight, int queued, int maxConcurrentRequests, int maxQueuedRequests,
                            long kvCacheBytesReserved, long kvCacheBudgetBytes, long longestStallNanos, long admitted,
                            long rejectedQueueFull, long rejectedQueueTimeout, long rejectedKvCacheBudget,
                            long cancelledWhileQueued, boolean closed) {
}
