package io.specula.engine;

import io.specula.generate.DecodingListener;
import io.specula.generate.GenerationListener;
import io.specula.generate.GenerationRequest;
import io.specula.generate.GenerationResult;
import io.specula.tokenizer.Tokenizer;

/**
 * The engine facade: a loaded target (and optional drafter) with its tokenizer, serving generation requests.
 * Thread-safe; one instance per application.
 */
public final class SpeculaEngine implements AutoCloseable {

    private SpeculaEngine() {
    }

    /** Loads the models; fails with a {@link io.specula.SpeculaException} naming the file when one is bad. */
    public static SpeculaEngine load(EngineConfig config) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    public EngineInfo info() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** The target's tokenizer (and chat template). */
    public Tokenizer tokenizer() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Whether a drafter is loaded (false: speculation settings are ignored). */
    public boolean hasDrafter() {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Generates; with speculation off (or no drafter) the target decodes alone. Same output either way. */
    public GenerationResult generate(GenerationRequest request, SpeculationSettings speculation,
                                     GenerationListener listener) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** Registers a statistics listener (Micrometer binding, endpoint aggregation). */
    public void addDecodingListener(DecodingListener listener) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    @Override
    public void close() {
    }
}
