package io.specula.speculative.testing;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.specula.kernel.MatMuls;
import io.specula.kernel.ScalarMatMul;
import io.specula.model.CausalLm;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.Quantization;
import io.specula.model.TensorSource;
import io.specula.model.WeightLoader;
import io.specula.model.llama.LlamaModel;
import io.specula.model.llama.LlamaWeights;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Tiny random-weight Llama models for the speculative tests (a stand-in until {@code io.specula.testing.TinyModels}
 * is on main). A drafter "close to" a target is the target with noise added to every weight, which gives acceptance
 * rates between 0 and 1; the target itself as drafter gives α = 1.
 */
public final class TinyLlama {

    public static final int VOCAB = 48;

    private TinyLlama() {
    }

    public static ModelConfig config(int vocab, int layers) {
        JsonObject json = JsonParser.parseString("{\"architectures\":[\"LlamaForCausalLM\"],\"vocab_size\":" + vocab
                + ",\"hidden_size\":32,\"intermediate_size\":64,\"num_hidden_layers\":" + layers
                + ",\"num_attention_heads\":4,\"num_key_value_heads\":2,\"max_position_embeddings\":256,"
                + "\"rms_norm_eps\":1e-5,\"tie_word_embeddings\":true}").getAsJsonObject();
        return ModelConfig.parse(Path.of("config.json"), json);
    }

    public static LlamaModel model(long seed) {
        return model(seed, VOCAB, 2, 0);
    }

    /** The model of {@code seed} with every weight perturbed by Gaussian noise of std {@code noise}. */
    public static LlamaModel model(long seed, int vocab, int layers, double noise) {
        ModelConfig c = config(vocab, layers);
        return new LlamaModel(c, LlamaWeights.load(c, source(seed, noise)), new ScalarMatMul());
    }

    /** As {@link #model(long, int, int, double)} with weights quantized at load, on the best kernel of this JVM. */
    public static LlamaModel model(long seed, int vocab, int layers, double noise, Quantization quantization) {
        ModelConfig c = config(vocab, layers);
        return new LlamaModel(c, LlamaWeights.load(c, new WeightLoader(source(seed, noise), quantization, false)),
                MatMuls.best());
    }

    static TensorSource source(long seed, double noise) {
        return new TensorSource() {
            @Override
            public boolean contains(String name) {
                return !name.equals("lm_head.weight");
            }

            @Override
            public float[] floats(String name, long... shape) {
                long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
                // Weights depend on the name and the position only, so models of different vocabulary sizes share
                // their first rows (a padded drafter is "the same model" on the common ids).
                SplittableRandom r = new SplittableRandom(seed ^ name.hashCode());
                SplittableRandom e = new SplittableRandom((seed * 31 + 17) ^ name.hashCode());
                float[] out = new float[(int) n];
                boolean norm = name.endsWith("norm.weight");
                // Embeddings a bit larger so the (tied) output logits are peaked: greedy text repeats itself.
                double scale = name.contains("embed") ? 0.6 : 0.25;
                for (int i = 0; i < n; i++) {
                    double w = norm ? 1 + 0.1 * r.nextGaussian() : scale * r.nextGaussian();
                    out[i] = (float) (w + noise * e.nextGaussian());
                }
                return out;
            }
        };
    }

    /** Wraps a model so that its logits become NaN from the {@code failAt}-th forward call on. */
    public static CausalLm nanAfter(CausalLm model, int failAt) {
        return new CausalLm() {
            int calls;

            @Override
            public ModelConfig config() {
                return model.config();
            }

            @Override
            public KvCache newCache(int capacity) {
                return model.newCache(capacity);
            }

            @Override
            public float[][] forward(int[] tokens, KvCache cache, int numLogits) {
                float[][] out = model.forward(tokens, cache, numLogits);
                if (++calls >= failAt) {
                    out[out.length - 1][3] = Float.NaN;
                }
                return out;
            }

            @Override
            public void close() {
            }
        };
    }
}
