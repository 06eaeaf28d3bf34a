package io.specula.engine;

import io.specula.SpeculaException;
import io.specula.model.ModelWeights;
import io.specula.model.Quantization;
import io.specula.model.safetensors.TensorInfo;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Refuses to start loading weights that cannot fit the Java heap: they live in heap arrays (docs/quantization.md
 * says why), and running out of memory halfway through would give an {@code OutOfMemoryError} naming nothing useful.
 */
final class HeapCheck {

    /** Room for the KV caches, the tokenizer, a tensor being read and the JVM's own objects. */
    private static final double HEADROOM = 1.15;

    private HeapCheck() {
    }

    static void require(Path dir, ModelWeights weights, Quantization quantization, boolean float32) {
        require(dir, estimate(weights, quantization, float32), quantization, float32);
    }

    /** As {@link #require(Path, ModelWeights, Quantization, boolean)} with the weights' bytes already estimated. */
    static void require(Path dir, long weightBytes, Quantization quantization, boolean float32) {
        Runtime rt = Runtime.getRuntime();
        check(dir, weightBytes,
                quantization == Quantization.NONE ? (float32 ? "float32" : "as stored") : quantization.option(),
                rt.maxMemory() - (rt.totalMemory() - rt.freeMemory()), rt.maxMemory());
    }

    /** Fails when {@code weightBytes} (with headroom) exceed the heap still {@code available}. */
    static void check(Path dir, long weightBytes, String format, long available, long maxHeap) {
        long need = (long) (weightBytes * HEADROOM);
        if (need > available) {
            throw new SpeculaException(String.format(Locale.ROOT, "model %s: its weights need about %.2f GB of Java "
                    + "heap (%s), only %.2f GB are free (maximum heap %.2f GB): start the JVM with a larger -Xmx, e.g. "
                    + "-Xmx%dg, or choose a smaller quantization (%s)", dir.getFileName(), need / 1e9, format,
                    available / 1e9, maxHeap / 1e9, (long) Math.ceil((maxHeap + need - available) / 1e9) + 1,
                    Quantization.names()));
        }
    }

    /** Bytes of the weights once loaded: as stored, widened, or at the quantized formats' bytes per weight. */
    static long estimate(ModelWeights weights, Quantization quantization, boolean float32) {
        double total = 0;
        for (String name : weights.names()) {
            TensorInfo t = weights.info(name);
            long n = t.numElements();
            boolean matrix = t.shape().length == 2;
            if (!matrix || quantization == Quantization.NONE) {
                total += float32 || !matrix ? 4.0 * n : t.byteSize();
            } else {
                boolean head = name.contains("embed_tokens") || name.startsWith("lm_head");
                boolean q4 = quantization == Quantization.Q4_0 || quantization == Quantization.Q4_1;
                total += n * (q4 && !head ? 0.75 : 1.125);
            }
        }
        return (long) total;
    }
}
