package io.specula.training;

import java.nio.file.Path;

/**
 * Everything a {@link Trainer} run is told. Public fields with the defaults used for the sample models; the CLI
 * commands {@code pretrain} and {@code distill} fill them from their options.
 */
public final class TrainingOptions {

    /** Training text: a .txt file or a folder of them. */
    public Path train;
    /** Held-out text for the validation loss. */
    public Path valid;
    /** Folder with tokenizer.json and tokenizer_config.json; for distillation, the teacher's folder by default. */
    public Path tokenizer;
    /** Where the finished model is exported (Hugging Face layout). */
    public Path out;
    /** Checkpoints and the loss log; {@code <out>-work} by default. */
    public Path work;

    /** The model to train. */
    public ModelShape shape;
    /** Start from this exported model's weights instead of a random initialisation (same shape). */
    public Path initFrom;
    /** Distillation: the teacher model folder. Null for pretraining. */
    public Path teacher;

    public int seqLen = 512;
    public int batchSize = 4;
    public int steps = 1000;
    public int warmupSteps = 100;
    public float learningRate = 6e-4f;
    /** The cosine schedule ends at learningRate * minLrRatio. */
    public float minLrRatio = 0.1f;
    public float weightDecay = 0.1f;
    public float beta1 = 0.9f;
    public float beta2 = 0.95f;
    public float eps = 1e-8f;
    /** Global gradient-norm clipping; 0 = none. */
    public float clip = 1.0f;
    public float dropout = 0f;
    public long seed = 1234;

    public int checkpointEvery = 200;
    public int evalEvery = 200;
    /** Validation windows per evaluation; 0 = the whole validation text. */
    public int evalWindows = 0;
    public boolean resume;

    public SafeTensorsFiles.DType exportDtype = SafeTensorsFiles.DType.F16;
    /** Export the weights of the evaluation with the lowest validation loss rather than the last step's. */
    public boolean exportBest = true;

    /** Distillation temperature (both distributions). */
    public float temperature = 1f;
    /** Distillation: weight of the cross-entropy on the corpus's own next tokens, added to the KL term. */
    public float hardLabelWeight = 0f;

    /**
     * Stop (after writing a checkpoint, without exporting) once this step is done; 0 = run to the end. With
     * {@link #timeLimitMinutes}, lets a long run be split into sessions that each end in a checkpoint.
     */
    public int stopAfterStep = 0;
    /** Stop (after writing a checkpoint, without exporting) once this much time has passed in this run; 0 = none. */
    public double timeLimitMinutes = 0;

    /** Without a console: a progress line every this many steps. */
    public int logEvery = 10;

    boolean distilling() {
        return teacher != null;
    }

    Path workDir() {
        return work != null ? work : out.resolveSibling(out.getFileName() + "-work");
    }

    Path tokenizerDir() {
        if (tokenizer != null) {
            return tokenizer;
        }
        if (teacher != null) {
            return teacher;
        }
        throw new IllegalArgumentException("a tokenizer folder is needed (tokenizer.json, tokenizer_config.json)");
    }
}
