package io.specula.gguf;

import de.kherud.llama.LlamaModel;
import de.kherud.llama.ModelParameters;
import io.specula.gguf.GgufWriter.TensorType;
import io.specula.model.ModelConfig;
import io.specula.model.ModelWeights;
import io.specula.model.safetensors.DType;
import io.specula.kernel.HalfFloats;
import io.specula.testing.TinyModelDirs;
import io.specula.testing.TinyModels.Family;
import io.specula.testing.TinyTokenizers;
import io.specula.testing.TinyTokenizers.ChatTemplateKind;
import io.specula.testing.TinyTokenizers.TokenizerKind;
import io.specula.tokenizer.HfTokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class GgufExporterTest {

    @TempDir
    Path tmp;

    @Test
    void writerLaysOutGgufV3WithAlignedTensorsAndReversedDimensions() throws IOException {
        GgufWriter w = new GgufWriter().putString("general.architecture", "llama").putUInt32("general.alignment", 32)
                .putFloat32("x.eps", 1e-5f).putBool("x.flag", true).putStrings("x.list", List.of("a", "▁b"))
                .putInt32s("x.ints", new int[] {1, -2});
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {0.1f, -0.5f, 65504f};
        w.addTensor("a", new long[] {2, 3}, TensorType.F32, a);
        w.addTensor("b", new long[] {3}, TensorType.F16, b);
        Path f = tmp.resolve("t.gguf");
        w.write(f);
        GgufReader r = new GgufReader(f);
        assertThat(r.metadata).containsEntry("general.architecture", "llama").containsEntry("x.flag", true)
                .containsEntry("x.list", List.of("a", "▁b")).containsEntry("x.ints", List.of(1L, -2L));
        assertThat((Float) r.metadata.get("x.eps")).isEqualTo(1e-5f);
        assertThat(r.tensors.get("a").ne()).containsExactly(3, 2);
        assertThat(r.tensors.get("a").type()).isZero();
        assertThat(r.tensors.get("b").type()).isEqualTo(1);
        assertThat(r.dataStart % 32).isZero();
        assertThat(r.tensors.get("b").offset() % 32).isZero();
        assertThat(r.floats("a")).containsExactly(a);
        assertThat(r.floats("b")).containsExactly(0.099975586f, -0.5f, 65504f);
        assertThat(r.size() % 32).isZero();
    }

    @Test
    void permutationTurnsRotateHalfIntoInterleavedRope() {
        // One head of 8 rows (half = 4), 1 column: row h*hd + j*half + i goes to h*hd + 2i + j.
        float[] q = {0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17};
        assertThat(GgufExporter.permute(q, 16, 1, 2))
                .containsExactly(0, 4, 1, 5, 2, 6, 3, 7, 10, 14, 11, 15, 12, 16, 13, 17);
        // So rotating pairs (2i, 2i+1) of the permuted vector is rotating (i, i + half) of the original.
        float[] x = {0.3f, -1.2f, 0.7f, 2.0f, -0.4f, 0.9f, 1.1f, -0.8f};
        float[] p = GgufExporter.permute(x, 8, 1, 1);
        double theta = 0.37;
        for (int i = 0; i < 4; i++) {
            double c = Math.cos(theta * (i + 1));
            double s = Math.sin(theta * (i + 1));
            double hfA = x[i] * c - x[i + 4] * s;
            double hfB = x[i + 4] * c + x[i] * s;
            double ggA = p[2 * i] * c - p[2 * i + 1] * s;
            double ggB = p[2 * i + 1] * c + p[2 * i] * s;
            assertThat(ggA).isCloseTo(hfA, within(1e-9));
            assertThat(ggB).isCloseTo(hfB, within(1e-9));
        }
    }

    @Test
    void llamaTiedHasConverterNamesMetadataAndNoOutputTensor() throws IOException {
        Path dir = TinyModelDirs.write(tmp.resolve("m"), Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                ChatTemplateKind.NONE, s -> s.tied(true));
        Path f = tmp.resolve("m.gguf");
        GgufExporter.export(dir, f, TensorType.F32);
        GgufReader r = new GgufReader(f);
        ModelConfig c = ModelConfig.read(dir);
        assertThat(r.metadata).containsEntry("general.architecture", "llama")
                .containsEntry("general.alignment", 32L)
                .containsEntry("llama.context_length", (long) c.maxPositionEmbeddings())
                .containsEntry("llama.embedding_length", 64L).containsEntry("llama.block_count", 2L)
                .containsEntry("llama.feed_forward_length", 128L).containsEntry("llama.attention.head_count", 4L)
                .containsEntry("llama.attention.head_count_kv", 2L).containsEntry("llama.rope.dimension_count", 16L)
                .containsEntry("llama.vocab_size", (long) c.vocabSize())
                .containsEntry("tokenizer.ggml.model", "llama").containsEntry("tokenizer.ggml.bos_token_id", 1L)
                .containsEntry("tokenizer.ggml.eos_token_id", 2L).containsEntry("tokenizer.ggml.unknown_token_id", 0L)
                .containsEntry("tokenizer.ggml.add_bos_token", true);
        assertThat((Float) r.metadata.get("llama.rope.freq_base")).isEqualTo(10000f);
        assertThat((Float) r.metadata.get("llama.attention.layer_norm_rms_epsilon")).isEqualTo(1e-5f);
        assertThat(r.tensors.keySet()).contains("token_embd.weight", "output_norm.weight", "blk.0.attn_q.weight",
                "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight", "blk.0.attn_norm.weight",
                "blk.1.ffn_gate.weight", "blk.1.ffn_up.weight", "blk.1.ffn_down.weight", "blk.1.ffn_norm.weight")
                .doesNotContain("output.weight", "rope_freqs.weight").hasSize(2 + 2 * 9);
        assertThat(r.tensors.get("token_embd.weight").ne()).containsExactly(64, c.vocabSize());
        assertThat(r.tensors.get("blk.0.ffn_down.weight").ne()).containsExactly(128, 64);
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThat(r.floats("blk.0.attn_k.weight"))
                    .containsExactly(GgufExporter.permute(w.floats("model.layers.0.self_attn.k_proj.weight"), 32, 64, 2));
            assertThat(r.floats("blk.0.attn_v.weight")).containsExactly(w.floats("model.layers.0.self_attn.v_proj.weight"));
        }
        // Vocabulary: <unk> unknown, <s> </s> control, <0xNN> byte, the rest normal; scores minus the merge rank.
        @SuppressWarnings("unchecked")
        List<Long> types = (List<Long>) r.metadata.get("tokenizer.ggml.token_type");
        @SuppressWarnings("unchecked")
        List<String> tokens = (List<String>) r.metadata.get("tokenizer.ggml.tokens");
        @SuppressWarnings("unchecked")
        List<Float> scores = (List<Float>) r.metadata.get("tokenizer.ggml.scores");
        assertThat(types.subList(0, 4)).containsExactly(2L, 3L, 3L, 6L);
        assertThat(tokens.get(3 + 0x0A)).isEqualTo("<0x0A>");
        assertThat(types.get(3 + 0x0A)).isEqualTo(6L);
        assertThat(tokens).hasSize(c.vocabSize());
        int last = tokens.size() - 1;   // the last merge's token
        assertThat(types.get(last)).isEqualTo(1L);
        assertThat(scores.get(last)).isLessThan(scores.get(last - 1)).isNegative();
    }

    @Test
    void qwen3IsNotPermutedAndHasQkNormsAndAGpt2Vocabulary() throws IOException {
        Path dir = TinyModelDirs.write(tmp.resolve("q"), Family.QWEN3, TokenizerKind.GPT2_BYTE_LEVEL,
                ChatTemplateKind.QWEN, s -> s);
        Path f = tmp.resolve("q.gguf");
        GgufExporter.export(dir, f, TensorType.F32);
        GgufReader r = new GgufReader(f);
        assertThat(r.metadata).containsEntry("general.architecture", "qwen3")
                .containsEntry("qwen3.attention.key_length", 24L).containsEntry("tokenizer.ggml.model", "gpt2")
                .containsEntry("tokenizer.ggml.pre", "qwen2")
                .containsEntry("tokenizer.ggml.eos_token_id",
                        (long) TinyTokenizers.tokenId(TokenizerKind.GPT2_BYTE_LEVEL, ChatTemplateKind.QWEN, "<|im_end|>"))
                .doesNotContainKey("tokenizer.ggml.bos_token_id").containsKey("tokenizer.ggml.merges")
                .containsKey("tokenizer.chat_template");
        assertThat(r.tensors).containsKeys("blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight", "output.weight");
        assertThat(r.tensors.get("blk.0.attn_q.weight").ne()).containsExactly(64, 96);
        try (ModelWeights w = ModelWeights.open(dir)) {
            assertThat(r.floats("blk.0.attn_q.weight")).containsExactly(w.floats("model.layers.0.self_attn.q_proj.weight"));
        }
    }

    @Test
    void llama3WritesRopeFreqsAsTheConverterComputesThem() throws IOException {
        Path dir = TinyModelDirs.write(tmp.resolve("l3"), Family.LLAMA3, TokenizerKind.GPT2_BYTE_LEVEL,
                ChatTemplateKind.LLAMA3, s -> s);
        Path f = tmp.resolve("l3.gguf");
        GgufExporter.export(dir, f, TensorType.F32);
        GgufReader r = new GgufReader(f);
        float[] freqs = r.floats("rope_freqs.weight");
        assertThat(freqs).hasSize(8);
        // transformers' llama3 scaling, in double: rope_freqs is the divisor original / scaled of each frequency.
        double lowWavelen = 64 / 1.0;
        double highWavelen = 64 / 4.0;
        for (int i = 0; i < 8; i++) {
            double fr = 1 / Math.pow(500000, 2.0 * i / 16);
            double wl = 2 * Math.PI / fr;
            double scaled = wl > lowWavelen ? fr / 8 : wl < highWavelen ? fr
                    : (1 - (64 / wl - 1) / 3) * fr / 8 + (64 / wl - 1) / 3 * fr;
            assertThat((double) freqs[i]).as("rope_freqs[%d]", i).isCloseTo(fr / scaled, within(1e-4));
        }
        assertThat(freqs[0]).isEqualTo(1f);
        assertThat(freqs[7]).isEqualTo(8f);
        // The fixture has GPT-2's plain ByteLevel pre-tokenizer, not Llama 3's split regex.
        assertThat(r.metadata).containsEntry("tokenizer.ggml.pre", "gpt-2");
    }

    @Test
    void f16KeepsOneDimensionalTensorsInF32() throws IOException {
        Path dir = TinyModelDirs.write(tmp.resolve("h"), Family.QWEN2, TokenizerKind.GPT2_BYTE_LEVEL,
                ChatTemplateKind.NONE, s -> s.dtype(DType.F16));
        Path f = tmp.resolve("h.gguf");
        GgufExporter.export(dir, f, TensorType.F16);
        GgufReader r = new GgufReader(f);
        assertThat(r.metadata).containsEntry("general.file_type", 1L).containsEntry("tokenizer.ggml.pre", "gpt-2");
        assertThat(r.tensors.get("blk.0.attn_q.weight").type()).isEqualTo(1);
        assertThat(r.tensors.get("token_embd.weight").type()).isEqualTo(1);
        assertThat(r.tensors.get("blk.0.attn_q.bias").type()).isZero();
        assertThat(r.tensors.get("blk.0.attn_norm.weight").type()).isZero();
        try (ModelWeights w = ModelWeights.open(dir)) {
            float[] hf = w.floats("model.layers.1.mlp.up_proj.weight");
            assertThat(r.floats("blk.1.ffn_up.weight")).containsExactly(hf);   // f16 in, f16 out: no rounding
            assertThat(HalfFloats.f16ToFloat(HalfFloats.floatToF16(hf[3]))).isEqualTo(hf[3]);
        }
    }

    /**
     * The exported SentencePiece vocabulary with minus-merge-rank scores tokenizes text as our BPE does, in llama.cpp
     * itself (encode adds no BOS).
     */
    @Test
    void llamaCppTokenizesTheExportedLlamaVocabularyAsOurTokenizer() {
        Path dir = TinyModelDirs.write(tmp.resolve("tok"), Family.LLAMA, TokenizerKind.LLAMA2_BYTE_FALLBACK,
                ChatTemplateKind.NONE, s -> s);
        Path f = tmp.resolve("tok.gguf");
        GgufExporter.export(dir, f, TensorType.F32);
        String text = "The quick brown fox jumps over the lazy dog. Speculative decoding is fast: 42 ½ ünïcode!\nBye";
        new LlamaCpp(f, 1, 64, 0).close();   // loads the logger and native library settings
        try (HfTokenizer ours = HfTokenizer.load(dir);
             LlamaModel llama = new LlamaModel(new ModelParameters().setModel(f.toString()).setThreads(1)
                     .setCtxSize(64).disableLog())) {
            assertThat(llama.encode(text)).containsExactly(ours.encode(text, false));
        }
        assertThat(Files.exists(f)).isTrue();
    }
}
