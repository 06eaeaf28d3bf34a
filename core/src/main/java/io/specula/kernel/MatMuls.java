package io.specula.kernel;

import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that picks the CPU kernels: the Vector API ones ({@link VectorMatMul}, {@link VectorOps}) when the
 * JVM was started with {@code --add-modules jdk.incubator.vector}, the scalar ones otherwise.
 *
 * <p>The module is looked up in the boot layer before any class that uses the Vector API is touched, so a JVM
 * without it never meets a {@code NoClassDefFoundError}; those classes are only named inside methods that run when
 * the module is present.
 */
public final class MatMuls {

    private static final Logger log = LoggerFactory.getLogger(MatMuls.class);
    private static final String MODULE = "jdk.incubator.vector";

    private MatMuls() {
    }

    /** Whether the Vector API module is in this JVM's boot layer. */
    public static boolean vectorAvailable() {
        return ModuleLayer.boot().findModule(MODULE).isPresent();
    }

    /** The fastest matrix kernel this JVM can run; logs one info line the first time it has to fall back. */
    public static MatMul best() {
        return Best.MAT_MUL;
    }

    /** The per-token operations to go with {@link #best()}. */
    public static Ops bestOps() {
        return Best.OPS;
    }

    /**
     * A kernel by name, for configuration that forces a path.
     *
     * @param name "vector", "scalar" or "auto" (= {@link #best()}), any case
     * @throws IllegalArgumentException for another name
     * @throws IllegalStateException    for "vector" when the module is absent
     */
    public static MatMul forName(String name) {
        return switch (kind(name)) {
            case "auto" -> best();
            case "scalar" -> new ScalarMatMul();
            default -> {
                requireVector();
                yield Vector.matMul();
            }
        };
    }

    /** The per-token operations by name, as {@link #forName(String)}. */
    public static Ops opsForName(String name) {
        return switch (kind(name)) {
            case "auto" -> bestOps();
            case "scalar" -> new ScalarOps();
            default -> {
                requireVector();
                yield Vector.ops();
            }
        };
    }

    private static String kind(String name) {
        String k = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        if (!k.equals("vector") && !k.equals("scalar") && !k.equals("auto")) {
            throw new IllegalArgumentException("kernel '" + name + "': expected one of vector, scalar, auto");
        }
        return k;
    }

    private static void requireVector() {
        if (!vectorAvailable()) {
            throw new IllegalStateException("kernel 'vector' needs the Java Vector API: start the JVM with "
                    + "--add-modules " + MODULE);
        }
    }

    /** Chosen once, on first use, so the fallback is logged once. */
    private static final class Best {
        static final MatMul MAT_MUL;
        static final Ops OPS;

        static {
            if (vectorAvailable()) {
                MAT_MUL = Vector.matMul();
                OPS = Vector.ops();
            } else {
                log.info("Java Vector API module {} is absent: using the scalar CPU kernels, several times slower. "
                        + "Start the JVM with --add-modules {} for the vectorised, multithreaded ones.", MODULE, MODULE);
                MAT_MUL = new ScalarMatMul();
                OPS = new ScalarOps();
            }
        }
    }

    /** The only code that names the Vector API classes; loaded only when the module is present. */
    private static final class Vector {
        static MatMul matMul() {
            return new VectorMatMul();
        }

        static Ops ops() {
            return new VectorOps();
        }
    }
}
