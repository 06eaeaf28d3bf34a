package io.specula.cli;

import io.specula.engine.LoadedModel;
import io.specula.model.llama.LlamaModel;

/** The compute path a loaded model uses, for benchmark output. */
final class ModelKernelName {

    private ModelKernelName() {
    }

    static String of(LoadedModel loaded) {
        return loaded.model() instanceof LlamaModel m ? "java/" + m.kernel().name() : loaded.model().getClass().getSimpleName();
    }
}
