package io.specula.generate;

/**
 * Turns a prompt into output tokens: plain target decoding or speculative decoding, behind the same interface so
 * callers can switch between them. Thread-safe: each call decodes its own sequence.
 */
public interface Generator {

    GenerationResult generate(GenerationRequest request, GenerationListener listener);

    default GenerationResult generate(GenerationRequest request) {
        return generate(request, GenerationListener.NONE);
    }
}
