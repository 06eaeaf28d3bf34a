package io.specula.generate.structured;

import io.specula.InvalidRequestException;
import io.specula.engine.ChatRequest;
import io.specula.engine.DecodingOptions;
import io.specula.engine.EngineConfig;
import io.specula.engine.SpeculaEngine;
import io.specula.generate.FinishReason;
import io.specula.generate.GenerationResult;
import io.specula.speculative.policy.DraftPolicy;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import io.specula.tokenizer.ChatMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Structured output through the engine, on tiny random models that know nothing of JSON: every answer is a JSON text
 * valid for the schema (checked by an independent checker), complete within the token limit, for both tokenizer
 * families (byte-level BPE and SentencePiece with byte fallback); and speculation stays exact for the constrained
 * target: greedy constrained speculative output equals greedy constrained plain output, with a twin drafter (every
 * draft accepted, so the drafter's masked drafts are what the target's mask allows), a different drafter and n-grams.
 */
class StructuredOutputEngineTest {

    static final String PERSON = JsonSchemaAutomatonTest.PERSON;

    @TempDir
    static Path tmp;

    static List<SpeculaEngine> byteLevel = new ArrayList<>();
    static SpeculaEngine byteFallback;

    @BeforeAll
    static void load() {
        int bos = TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, "<|endoftext|>");
        Path target = TinyModelDirs.write(tmp.resolve("target"), TinyModels.Family.QWEN2,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, s -> s.seed(7).bos(bos));
        Path twin = TinyModelDirs.write(tmp.resolve("twin"), TinyModels.Family.QWEN2,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, s -> s.seed(7).bos(bos));
        Path other = TinyModelDirs.write(tmp.resolve("other"), TinyModels.Family.QWEN2,
                TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, s -> s.seed(8).bos(bos));
        byteLevel.add(SpeculaEngine.load(EngineConfig.of(target, twin.toString())));
        byteLevel.add(SpeculaEngine.load(EngineConfig.of(target, other.toString())));
        byteLevel.add(SpeculaEngine.load(EngineConfig.of(target, "ngram")));
        Path llama = TinyModelDirs.llama(tmp.resolve("llama"), 3);
        byteFallback = SpeculaEngine.load(EngineConfig.of(llama, llama.toString()));
    }

    @AfterAll
    static void close() {
        byteLevel.forEach(SpeculaEngine::close);
        byteFallback.close();
    }

    static ChatRequest request(String schema, double temperature, Long seed, int maxTokens, boolean speculative) {
        DecodingOptions options = new DecodingOptions(temperature, null, null, maxTokens, null, seed, null, null,
                speculative, 4, DraftPolicy.FIXED);
        return new ChatRequest(List.of(new ChatMessage("user", "Describe a person as JSON.")), options, schema);
    }

    static GenerationResult chat(SpeculaEngine engine, ChatRequest request) {
        return engine.chat(request, null, () -> false);
    }

    @Test
    void greedyConstrainedSpeculativeOutputEqualsConstrainedPlainOutput() {
        // At or above the shortest valid JSON's length in bytes (about 115 here) the answer is always complete.
        for (int maxTokens : new int[] {120, 160, 300}) {
            GenerationResult plain = chat(byteLevel.get(0), request(PERSON, 0, null, maxTokens, false));
            assertThat(SchemaCheck.violations(PERSON, plain.text())).as(plain.text()).isEmpty();
            for (SpeculaEngine engine : byteLevel) {
                GenerationResult speculative = chat(engine, request(PERSON, 0, null, maxTokens, true));
                assertThat(speculative.tokenIds()).as("%s, %d tokens", engine.info().drafterName(), maxTokens)
                    .containsExactly(plain.tokenIds());
                assertThat(speculative.stats().speculative()).isTrue();
            }
            // The twin drafts exactly what the constrained target would say: everything is accepted.
            GenerationResult twin = chat(byteLevel.get(0), request(PERSON, 0, null, maxTokens, true));
            assertThat(twin.stats().draftedTokens()).isPositive();
            assertThat(twin.stats().acceptedTokens()).isEqualTo(twin.stats().draftedTokens());
        }
    }

    @Test
    void everySampledAnswerIsValidJsonForTheSchemaWithinTheTokenLimit() {
        for (SpeculaEngine engine : List.of(byteLevel.get(1), byteLevel.get(2), byteFallback)) {
            for (long seed = 1; seed <= 6; seed++) {
                int maxTokens = 120 + (int) seed * 30;
                GenerationResult result = chat(engine, request(PERSON, 1.0, seed, maxTokens, seed % 2 == 0));
                assertThat(result.completionTokens()).isLessThanOrEqualTo(maxTokens);
                assertThat(SchemaCheck.violations(PERSON, result.text()))
                    .as("%s seed %d: %s", engine.info().drafterName(), seed, result.text())
                    .isEmpty();
            }
        }
    }

    @Test
    void theLimitThatGuaranteesACompleteAnswerIsTheShortestJsonsLengthInBytes() {
        String flat = "{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"}},\"required\":[\"ok\"]}";
        StructuredOutput structured = new StructuredOutput(byteLevel.get(0).tokenizer());
        int shortest = structured.forSchema(flat).shortestOutput();
        assertThat(shortest).isEqualTo("{\"ok\":true}".length());
        for (long seed = 1; seed <= 5; seed++) {
            GenerationResult result = chat(byteLevel.get(0), request(flat, 1.0, seed, shortest, true));
            assertThat(SchemaCheck.violations(flat, result.text())).as(result.text()).isEmpty();
            assertThat(result.finishReason()).isIn(FinishReason.STOP, FinishReason.LENGTH);
        }
    }

    @Test
    void aContextTighterThanTheTokenLimitStillGivesCompleteJson() {
        // maxTokens asks for more than the context leaves after the prompt: decoding stops at the context's end, so
        // the grammar must steer towards closing the JSON by then, not by maxTokens.
        Path target = tmp.resolve("target");
        int prompt = byteLevel.get(0).tokenizer().encodeChat(
                List.of(new ChatMessage("user", "Describe a person as JSON.")), true, false).length;
        EngineConfig base = EngineConfig.of(target, target.toString());
        EngineConfig tight = new EngineConfig(base.targetDir(), base.drafter(), base.device(), base.dtype(),
                prompt + 150);
        try (SpeculaEngine engine = SpeculaEngine.load(tight)) {
            for (long seed = 1; seed <= 4; seed++) {
                GenerationResult result = chat(engine, request(PERSON, 1.0, seed, 400, seed % 2 == 0));
                assertThat(result.completionTokens()).isLessThanOrEqualTo(150);
                assertThat(SchemaCheck.violations(PERSON, result.text())).as("seed %d: %s", seed, result.text())
                    .isEmpty();
            }
        }
    }

    @Test
    void anUnsupportedSchemaIsRefusedNamingTheField() {
        String pattern = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"string\",\"pattern\":\"a+\"}}}";
        assertThatThrownBy(() -> chat(byteLevel.get(0), request(pattern, 0, null, 20, true)))
            .isInstanceOf(InvalidRequestException.class)
            .hasMessageContaining("outputSchema: at /properties/n: keyword 'pattern' is not supported");
    }
}
