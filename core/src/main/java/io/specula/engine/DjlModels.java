package io.specula.engine;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import io.specula.model.CausalLm;
import io.specula.model.ModelConfig;
import io.specula.model.TensorSource;
import io.specula.model.PyTorchEngine;
import io.specula.model.llama.DjlLlamaModel;

import java.util.Locale;

/**
 * The engine's only door to models on DJL's PyTorch engine, kept in its own class so that the engine's other classes
 * never name {@link DjlLlamaModel} (whose fields are the engine's tensor types): without the optional engine on the
 * classpath, nothing here is loaded. {@link #create} checks that the engine is there first
 * ({@link PyTorchEngine#require}); the other methods are only called for a model {@link #create} made.
 */
final class DjlModels {

    /** Why a Gemma 3 model is refused on DJL (a compile-time constant: naming it loads no DJL class). */
    static final String UNSUPPORTED_GEMMA3 = DjlLlamaModel.UNSUPPORTED_GEMMA3;

    private DjlModels() {
    }

    /** @param why the setting that asks for DJL (for the error when the engine is missing) */
    static CausalLm create(ModelConfig config, TensorSource weights, Device device, DataType type, int maxPositions,
            String why) {
        PyTorchEngine.require(why);
        return DjlLlamaModel.create(config, weights, device, type, maxPositions);
    }

    static String deviceName(CausalLm model) {
        return model instanceof DjlLlamaModel m ? m.device().toString() : "cpu";
    }

    static String dtypeName(CausalLm model) {
        return model instanceof DjlLlamaModel m ? m.dataType().toString().toLowerCase(Locale.ROOT) : "float32";
    }

    static int bytesPerValue(CausalLm model) {
        return model instanceof DjlLlamaModel m ? m.dataType().getNumOfBytes() : Float.BYTES;
    }
}
