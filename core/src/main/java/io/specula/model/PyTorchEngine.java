package io.specula.model;

import io.specula.SpeculaException;

/**
 * Whether DJL's PyTorch engine is on the classpath. It is optional: the CPU path (the Java kernels, DJL's Hugging
 * Face tokenizers, which bring their own native library and no libtorch) runs without it. CUDA devices, the float16
 * and {@code djl} compute paths and training (the adaptive drafter, the CLI's pretrain and distill) need it; a
 * configuration that needs it without it fails with {@link #require}'s message, which says what to add.
 *
 * <p>Code that names the engine's own classes ({@code ai.djl.pytorch.*}: {@code DjlLlamaModel}, {@code DjlKvCache},
 * the trainers) is only reached after {@link #require}, so a classpath without them never meets a
 * {@link NoClassDefFoundError}.
 */
public final class PyTorchEngine {

    /** A class of the engine's jar (ai.djl.pytorch:pytorch-engine). */
    static final String ENGINE_CLASS = "ai.djl.pytorch.engine.PtEngine";

    /** What a user adds to get the engine. */
    public static final String HOW_TO_ADD = "add the dependency io.specula:specula-spring-boot-starter-djl (or "
            + "ai.djl.pytorch:pytorch-engine, ai.djl.pytorch:pytorch-jni and a libtorch such as "
            + "ai.djl.pytorch:pytorch-native-cpu; for CUDA see docs/getting-started.md)";

    private static final boolean AVAILABLE = present(ENGINE_CLASS);

    private PyTorchEngine() {
    }

    /** Whether DJL's PyTorch engine (its Java part) is on the classpath. */
    public static boolean isAvailable() {
        return AVAILABLE;
    }

    /**
     * Throws a {@link SpeculaException} saying that {@code what} needs DJL's PyTorch engine and how to add it, when it
     * is not on the classpath.
     *
     * @param what the setting or feature that needs it, e.g. "device 'cuda'"
     */
    public static void require(String what) {
        if (!AVAILABLE) {
            throw new SpeculaException(what + " needs DJL's PyTorch engine, which is not on the classpath: "
                    + HOW_TO_ADD);
        }
    }

    static boolean present(String className) {
        try {
            Class.forName(className, false, PyTorchEngine.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
