package io.specula.engine;

import io.specula.model.CausalLm;
import io.specula.model.ModelConfig;
import io.specula.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.List;

/**
 * One model directory, loaded: the network, its tokenizer and the end-of-sequence ids from tokenizer_config.json and
 * generation_config.json.
 */
public record LoadedModel(Path directory, String name, ModelConfig config, CausalLm model, Tokenizer tokenizer,
                          List<Integer> eosIds) implements AutoCloseable {

    @Override
    public void close() {
        model.close();
        tokenizer.close();
    }
}
