package de.kherud.llama;

import java.util.Arrays;
import java.util.Map;

/**
 * What java-llama.cpp 4.2.0 has but does not make public (tests and benchmarks only): a prompt given as token ids,
 * which llama.cpp's server code takes as they are (no BOS added, no tokenizer involved), and the raw streamed output.
 */
public final class JllamaAccess {

    private JllamaAccess() {
    }

    /** Sets the prompt to these token ids: a JSON array of numbers, which tokenize_input_prompts passes through. */
    public static InferenceParameters promptIds(InferenceParameters p, int[] ids) {
        p.parameters.put("prompt", Arrays.toString(ids));
        return p;
    }

    /** Sets any request field to a raw JSON value. */
    public static InferenceParameters raw(InferenceParameters p, String key, String json) {
        p.parameters.put(key, json);
        return p;
    }

    /** The request as JSON, as it is sent. */
    public static String json(InferenceParameters p) {
        return p.toString();
    }

    /** Token probabilities of one streamed output, keyed by the token's text. */
    public static Map<String, Float> probabilities(LlamaOutput o) {
        return o.probabilities;
    }

    public static boolean isStop(LlamaOutput o) {
        return o.stop;
    }
}
