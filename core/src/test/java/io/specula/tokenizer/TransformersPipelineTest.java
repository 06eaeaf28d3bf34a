package io.specula.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which tokenizer class transformers 5.12.1's AutoTokenizer instantiates, from tokenizer_config.json's class and
 * config.json's model_type (models/auto/tokenization_auto.py); checked on the golden fixtures against transformers
 * itself (TransformersGoldenTest: mistral-f16-sharded, qwen2-bf16-tied, gemma3-bf16, phi3-f16-longrope).
 */
class TransformersPipelineTest {

    @ParameterizedTest(name = "{0} + model_type {1} -> {2}")
    @CsvSource(nullValues = "null", value = {
            // Llama has no registered class: the hub class decides.
            "LlamaTokenizer, llama, LlamaTokenizer",
            "LlamaTokenizerFast, llama, LlamaTokenizer",
            "PreTrainedTokenizerFast, llama, TokenizersBackend",     // Llama 3
            "GPT2Tokenizer, llama, GPT2Tokenizer",
            "LlamaTokenizer, null, LlamaTokenizer",                  // no config.json
            "null, llama, TokenizersBackend",
            // Mistral registers a generic backend: tokenizer.json as it is, whatever the hub class says.
            "LlamaTokenizer, mistral, TokenizersBackend",            // Mistral 7B v0.1-v0.3
            "LlamaTokenizerFast, mixtral, TokenizersBackend",
            // qwen2's hub classes are known to be wrong: Qwen2Tokenizer always.
            "Qwen2Tokenizer, qwen2, Qwen2Tokenizer",
            "LlamaTokenizerFast, qwen2, Qwen2Tokenizer",             // DeepSeek-R1-Distill-Qwen
            "PreTrainedTokenizerFast, qwen2, Qwen2Tokenizer",
            // qwen3 trusts the hub class.
            "Qwen2TokenizerFast, qwen3, Qwen2Tokenizer",
            "LlamaTokenizer, qwen3, LlamaTokenizer",
            "PreTrainedTokenizerFast, qwen3, TokenizersBackend",
            "null, qwen3, Qwen2Tokenizer",
            // gemma3_text registers GemmaTokenizer, which rebuilds Gemma's pipeline; a generic hub class wins.
            "GemmaTokenizer, gemma3_text, GemmaTokenizer",
            "GemmaTokenizerFast, gemma3_text, GemmaTokenizer",
            "null, gemma3_text, GemmaTokenizer",
            "PreTrainedTokenizerFast, gemma3_text, TokenizersBackend",
            // phi3's hub classes are known to be wrong and it has no class of its own: tokenizer.json as it is.
            "LlamaTokenizer, phi3, TokenizersBackend",               // Phi-3-mini
            "GPT2Tokenizer, phi3, TokenizersBackend",                // Phi-4-mini
            "null, phi3, TokenizersBackend"})
    void autoTokenizerClass(String hubClass, String modelType, String expected) {
        assertThat(TransformersPipeline.effectiveClass(hubClass, modelType)).isEqualTo(expected);
    }
}
