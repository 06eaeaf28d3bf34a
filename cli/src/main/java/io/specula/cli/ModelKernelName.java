package io.specula.cli;

import io.specula.engine.LoadedModel;
import io.specula.model.JavaKernelModel;

/** The compute path a loaded model uses, for benchmark output. */
final class ModelKernelName {

    private ModelKernelName() {
    }

    static String of(LoadedModel loaded) {
        return loaded.model() instanceof JavaKernelModel m ? "java/" + m.kernel().name() : loaded.model().getClass().getSimpleName();
    }
}
