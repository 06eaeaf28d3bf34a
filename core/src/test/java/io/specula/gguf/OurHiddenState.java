package io.specula.gguf;

import io.specula.kernel.MatMuls;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.TensorSource;
import io.specula.model.llama.LlamaModel;
import io.specula.model.llama.LlamaWeights;

import java.nio.file.Path;

/**
 * Our engine's final hidden state (after the output norm), for comparison with llama.cpp's embeddings: the same
 * {@link LlamaModel} with the output projection replaced by an identity, so its first hidden_size "logits" are the
 * state itself. Everything before the output projection is the engine's own code and the model's own weights.
 */
final class OurHiddenState {

    private OurHiddenState() {
    }

    static float[] after(Path dir, int[] prompt) {
        ModelConfig c = ModelConfig.read(dir);
        if (c.vocabSize() < c.hiddenSize()) {
            throw new IllegalArgumentException("needs vocab_size >= hidden_size");
        }
        ModelConfig untied = c.withTiedWordEmbeddings(false);
        try (ModelWeights weights = ModelWeights.open(dir)) {
            float[] identity = new float[c.vocabSize() * c.hiddenSize()];
            for (int i = 0; i < c.hiddenSize(); i++) {
                identity[i * c.hiddenSize() + i] = 1f;
            }
            TensorSource source = new TensorSource() {
                @Override
                public boolean contains(String name) {
                    return name.equals("lm_head.weight") || weights.contains(name);
                }

                @Override
                public float[] floats(String name, long... shape) {
                    return name.equals("lm_head.weight") ? identity : weights.floats(name, shape);
                }
            };
            LlamaModel m = new LlamaModel(untied, LlamaWeights.load(untied, source), MatMuls.best());
            float[] out = m.forward(prompt, m.newCache(prompt.length), 1)[0];
            return java.util.Arrays.copyOf(out, c.hiddenSize());
        }
    }
}
