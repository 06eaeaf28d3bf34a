package io.specula.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.specula.engine.LoadedModel;
import io.specula.engine.ModelLoader;
import io.specula.model.KvCache;
import io.specula.model.ModelConfig;
import io.specula.model.llama.LlamaModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** Tiny end-to-end runs of the trainer: seconds each. */
class TrainerTest {

    static final int VOCAB = 384;

    @TempDir
    static Path dir;

    @BeforeAll
    static void corpus() throws Exception {
        TrainingFixtures.prepare(dir, VOCAB);
    }

    static Trainer.Result train(TrainingOptions o) {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.Result r = new Trainer(o, new PrintStream(log, true, StandardCharsets.UTF_8), false).run();
        System.out.print(log.toString(StandardCharsets.UTF_8));
        return r;
    }

    static List<double[]> csv(Path file) throws Exception {
        return Files.readAllLines(file).stream().skip(1).map(l -> {
            String[] f = l.split(",", -1);
            return new double[] {Double.parseDouble(f[0]), Double.parseDouble(f[3]),
                    f[5].isEmpty() ? Double.NaN : Double.parseDouble(f[5])};
        }).toList();
    }

    @Test
    void pretrainingLowersTheLossAndExportsAModelTheEngineComputesAlike() throws Exception {
        TrainingOptions o = TrainingFixtures.options(dir, "pretrained", TrainingFixtures.tinyShape(VOCAB));
        Trainer.Result r = train(o);

        assertThat(r.finished()).isTrue();
        List<double[]> rows = csv(o.out.resolve("training_log.csv"));
        assertThat(rows).hasSize(40);
        double first = rows.subList(0, 3).stream().mapToDouble(x -> x[1]).average().orElseThrow();
        double last = rows.subList(37, 40).stream().mapToDouble(x -> x[1]).average().orElseThrow();
        assertThat(first).isCloseTo(Math.log(VOCAB), within(0.3)); // a fresh model knows nothing
        assertThat(last).isLessThan(first - 1.0);
        assertThat(r.validLoss()).isLessThan((float) Math.log(VOCAB) - 1.0f);

        for (String f : List.of("config.json", "model.safetensors", "generation_config.json", "tokenizer.json",
                "tokenizer_config.json", "training_info.json", "training_log.csv")) {
            assertThat(o.out.resolve(f)).exists();
        }
        var info = Trainer.readJson(o.out.resolve("training_info.json"));
        assertThat(info.get("validation_loss").getAsFloat()).isEqualTo(r.validLoss());
        ModelConfig config = ModelConfig.read(o.out);
        assertThat(config.architecture()).isEqualTo(ModelConfig.Architecture.LLAMA);
        assertThat(config.torchDtype()).isEqualTo("float32");
        assertThat(config.numKvHeads()).isEqualTo(2);
        assertThat(Trainer.readJson(o.out.resolve("config.json")).get("model_type").getAsString()).isEqualTo("llama");

        // The engine loads the exported folder as it loads any Hugging Face model: its plain-Java forward pass
        // (LlamaModel) against DJL's training forward on the same weights.
        Map<String, SafeTensorsFiles.Tensor> weights = SafeTensorsFiles.read(o.out.resolve("model.safetensors"));
        int[] tokens = TokenData.encode(o.valid, o.tokenizer).batch(1, 1, 1, 40)[0].inputs();
        float[][] expected;
        try (LoadedModel loaded = ModelLoader.load(o.out, "cpu", "float32", "scalar")) {
            assertThat(loaded.model()).isInstanceOf(LlamaModel.class);
            assertThat(loaded.eosIds()).contains(TokenData.EOS);
            int[] prompt = loaded.tokenizer().encode("It is a truth universally acknowledged");
            assertThat(prompt[0]).isEqualTo(TokenData.BOS);
            assertThat(loaded.tokenizer().decode(java.util.Arrays.copyOfRange(prompt, 1, prompt.length)))
                    .isEqualTo("It is a truth universally acknowledged");
            try (KvCache cache = loaded.model().newCache(64)) {
                expected = loaded.model().forward(tokens, cache, tokens.length);
            }
        }
        try (NDManager m = NDManager.newBaseManager(); TrainableLlama djl = TrainableLlama.of(ModelShape.of(config), weights, m)) {
            NDArray logits = djl.forward(TrainableLlama.ids(m, new int[][] {tokens}));
            float[] flat = logits.toFloatArray();
            float maxDiff = 0;
            for (int t = 0; t < tokens.length; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    maxDiff = Math.max(maxDiff, Math.abs(flat[t * VOCAB + v] - expected[t][v]));
                }
            }
            assertThat(maxDiff).isLessThan(1e-4f);
            float maxLogit = 0;
            for (float x : expected[5]) {
                maxLogit = Math.max(maxLogit, Math.abs(x));
            }
            assertThat(maxLogit).isGreaterThan(1f); // not all zeros
        }

        // Float16 export: same model, half the bytes, logits within float16 rounding.
        Path half = dir.resolve("pretrained-f16");
        ModelExport.write(half, ModelShape.of(config), weights, SafeTensorsFiles.DType.F16, o.out, null, null);
        ModelConfig halfConfig = ModelConfig.read(half);
        assertThat(halfConfig.torchDtype()).isEqualTo("float16");
        try (LoadedModel halfEngine = ModelLoader.load(half, "cpu", "float32", "scalar");
             KvCache cache = halfEngine.model().newCache(64)) {
            float[][] got = halfEngine.model().forward(tokens, cache, tokens.length);
            for (int t = 0; t < tokens.length; t++) {
                for (int v = 0; v < VOCAB; v++) {
                    assertThat(got[t][v]).isCloseTo(expected[t][v], within(0.05f));
                }
            }
        }
        assertThat(Files.size(half.resolve("model.safetensors"))).isLessThan(Files.size(o.out.resolve("model.safetensors")) / 2 + 4096);
    }

    @Test
    void resumeContinuesFromTheCheckpointAsIfNeverStopped() throws Exception {
        TrainingOptions whole = TrainingFixtures.options(dir, "whole", TrainingFixtures.tinyShape(VOCAB));
        whole.steps = 12;
        whole.checkpointEvery = 4;
        whole.evalEvery = 6;
        whole.exportBest = false;
        whole.dropout = 0.1f; // dropout masks must be replayed too
        train(whole);

        TrainingOptions first = TrainingFixtures.options(dir, "split", TrainingFixtures.tinyShape(VOCAB));
        first.steps = 12;
        first.checkpointEvery = 4;
        first.evalEvery = 6;
        first.exportBest = false;
        first.dropout = 0.1f;
        first.stopAfterStep = 7; // between checkpoints: the stop writes one of its own
        Trainer.Result stopped = train(first);
        assertThat(stopped.finished()).isFalse();
        assertThat(stopped.steps()).isEqualTo(7);
        assertThat(first.out.resolve("model.safetensors")).doesNotExist();
        assertThat(Trainer.readJson(first.workDir().resolve("checkpoint.json")).get("step").getAsInt()).isEqualTo(7);

        assertThatThrownBy(() -> train(first)).hasMessageContaining("--resume");

        first.stopAfterStep = 0;
        first.resume = true;
        Trainer.Result resumed = train(first);
        assertThat(resumed.finished()).isTrue();
        assertThat(resumed.tokens()).isEqualTo(12L * first.batchSize * first.seqLen);

        List<double[]> a = csv(whole.out.resolve("training_log.csv"));
        List<double[]> b = csv(first.out.resolve("training_log.csv"));
        assertThat(b).hasSize(12);
        for (int i = 0; i < 12; i++) {
            assertThat(b.get(i)[0]).isEqualTo(i + 1);
            assertThat(b.get(i)[1]).isCloseTo(a.get(i)[1], within(1e-4));
        }
        var wa = SafeTensorsFiles.read(whole.out.resolve("model.safetensors"));
        var wb = SafeTensorsFiles.read(first.out.resolve("model.safetensors"));
        assertThat(wb.keySet()).isEqualTo(wa.keySet());
        // 1e-4: libtorch may split a reduction differently between runs on a loaded machine (seen: 2e-5 after 12 AdamW
        // steps), while a resume that replayed other batches, dropout masks or learning rates moves a weight by about
        // one step's update (~1e-3 at these learning rates) or more.
        for (String k : wa.keySet()) {
            float[] x = wa.get(k).data();
            float[] y = wb.get(k).data();
            for (int i = 0; i < x.length; i++) {
                assertThat(y[i]).as(k).isCloseTo(x[i], within(1e-4f));
            }
        }
    }

    @Test
    void distillationPullsTheDrafterTowardsTheTeacher() throws Exception {
        TrainingOptions t = TrainingFixtures.options(dir, "teacher", TrainingFixtures.tinyShape(VOCAB));
        t.steps = 30;
        train(t);

        TrainingOptions d = TrainingFixtures.options(dir, "drafter", ModelShape.llama(VOCAB, 16, 32, 1, 2, 1, 64));
        d.teacher = t.out;
        d.tokenizer = null; // the teacher's
        d.steps = 30;
        d.evalEvery = 10;
        d.hardLabelWeight = 0f;
        Trainer.Result r = train(d);
        List<double[]> rows = csv(d.out.resolve("training_log.csv"));
        double first = rows.subList(0, 3).stream().mapToDouble(x -> x[1]).average().orElseThrow();
        double last = rows.subList(27, 30).stream().mapToDouble(x -> x[1]).average().orElseThrow();
        assertThat(last).isLessThan(first * 0.8); // the KL to the teacher falls
        assertThat(r.validKl()).isFinite().isGreaterThanOrEqualTo(0f);
        var info = Trainer.readJson(d.out.resolve("training_info.json"));
        assertThat(info.get("kind").getAsString()).isEqualTo("distill");
        assertThat(info.has("validation_kl_from_teacher")).isTrue();
        ModelConfig c = ModelConfig.read(d.out);
        assertThat(c.numLayers()).isEqualTo(1);
        assertThat(d.out.resolve("tokenizer.json")).hasSameTextualContentAs(t.out.resolve("tokenizer.json"));
    }
}
