package io.specula.engine;

/**
 * What is loaded, for logs, metric tags and the Actuator endpoint.
 *
 * @param targetName  the target model's name (its directory name)
 * @param drafterName the drafter's name, "ngram", or "none"
 * @param device      where the models run, e.g. "cpu" or "cuda:0"
 * @param dtype       the compute dtype
 * @param kernel      the CPU matrix kernel ("vector", "scalar") or "djl"
 * @param contextLength the longest sequence (prompt + output) one request may use
 */
public record EngineInfo(String targetName, String drafterName, String device, String dtype, String kernel,
                         int contextLength) {
}
