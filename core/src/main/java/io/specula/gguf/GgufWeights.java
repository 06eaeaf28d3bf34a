package io.specula.gguf;

import io.specula.gguf.GgufFile.Tensor;
import io.specula.kernel.Bf16Matrix;
import io.specula.kernel.F16Matrix;
import io.specula.kernel.F32Matrix;
import io.specula.kernel.HalfFloats;
import io.specula.kernel.Q4Matrix;
import io.specula.kernel.Q8Matrix;
import io.specula.kernel.StackedMatrix;
import io.specula.kernel.WeightMatrix;
import io.specula.model.ModelFormatException;
import io.specula.model.TensorSource;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The tensors of a GGUF file under the Hugging Face names the models ask for ({@code model.layers.0.self_attn.q_proj.weight}
 * is {@code blk.0.attn_q.weight}), in the engine's weight formats, read a few rows at a time and never widened to
 * float32 (see {@link GgmlBlocks} for each type):
 *
 * <table>
 *   <caption>GGUF tensor types and what they become</caption>
 *   <tr><th>GGUF</th><th>weight format</th></tr>
 *   <tr><td>F32, F16, BF16</td><td>F32, F16, BF16 (16-bit values copied as they are)</td></tr>
 *   <tr><td>Q8_0, Q5_0</td><td>Q8, blocks of 32</td></tr>
 *   <tr><td>Q6_K</td><td>Q8, blocks of 16</td></tr>
 *   <tr><td>Q4_0, Q4_1, Q4_K</td><td>Q4</td></tr>
 * </table>
 *
 * Every weight keeps its value exactly. Other types (Q5_1, Q5_K, Q2_K, Q3_K, the IQ types) would have to change
 * weights to fit these formats and are refused ({@link #checkTypes}) when the file is opened.
 *
 * <p>For the {@code llama} architecture, llama.cpp's converter permuted the rows of q and k (and their biases) from
 * Hugging Face's rotate-half RoPE layout to the interleaved one ({@code LlamaModel.permute}); they are put back here,
 * whole rows moved, so the model computes rotate-half RoPE as for a safetensors checkpoint.
 *
 * <p>Fused matrices (q|k|v, gate|up) whose parts share a format are read into one matrix; parts in different formats
 * (a Q4_K_M file's Q6_K v next to Q4_K q and k) become a {@link StackedMatrix}.
 *
 * <p>Why one class of ~500 lines: the whole mapping from llama.cpp's tensor names and types to the engine's, one
 * table a reader checks against llama.cpp's converter; the block layouts themselves are in {@link GgmlBlocks}.
 */
public final class GgufWeights implements TensorSource {

    /** Rows are read through a buffer of this size. */
    private static final int READ_CHUNK_BYTES = 4 << 20;
    /**
     * One read buffer per loading thread, reused (as SafeTensorsFile does): a direct buffer's memory is freed only when
     * the garbage collector gets to it, so a new one per tensor would pile up native memory while a model loads.
     */
    private static final ThreadLocal<ByteBuffer> READ_BUFFER = ThreadLocal.withInitial(() ->
            ByteBuffer.allocateDirect(READ_CHUNK_BYTES).order(ByteOrder.LITTLE_ENDIAN));
    private static final Pattern LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");
    private static final Map<String, String> LAYER_NAMES = Map.ofEntries(
            Map.entry("input_layernorm.weight", "attn_norm.weight"),
            Map.entry("self_attn.q_proj.weight", "attn_q.weight"),
            Map.entry("self_attn.q_proj.bias", "attn_q.bias"),
            Map.entry("self_attn.k_proj.weight", "attn_k.weight"),
            Map.entry("self_attn.k_proj.bias", "attn_k.bias"),
            Map.entry("self_attn.v_proj.weight", "attn_v.weight"),
            Map.entry("self_attn.v_proj.bias", "attn_v.bias"),
            Map.entry("self_attn.o_proj.weight", "attn_output.weight"),
            Map.entry("self_attn.o_proj.bias", "attn_output.bias"),
            Map.entry("self_attn.q_norm.weight", "attn_q_norm.weight"),
            Map.entry("self_attn.k_norm.weight", "attn_k_norm.weight"),
            Map.entry("post_attention_layernorm.weight", "ffn_norm.weight"),
            Map.entry("mlp.gate_proj.weight", "ffn_gate.weight"),
            Map.entry("mlp.up_proj.weight", "ffn_up.weight"),
            Map.entry("mlp.down_proj.weight", "ffn_down.weight"));
    /**
     * Gemma 3's four norms per layer: llama.cpp names the one before attention attn_norm, the one before the MLP
     * ffn_norm (the Llama family's post_attention_layernorm), and the two on the outputs post_attention_norm and
     * post_ffw_norm.
     */
    private static final Map<String, String> GEMMA3_LAYER_NAMES = Map.of(
            "post_attention_layernorm.weight", "post_attention_norm.weight",
            "pre_feedforward_layernorm.weight", "ffn_norm.weight",
            "post_feedforward_layernorm.weight", "post_ffw_norm.weight");
    /** Phi-3's fused projections: q|k|v is attn_qkv, gate|up is ffn_up (twice the rows of an up projection). */
    private static final Map<String, String> PHI3_LAYER_NAMES = Map.of(
            "self_attn.qkv_proj.weight", "attn_qkv.weight",
            "mlp.gate_up_proj.weight", "ffn_up.weight");
    private static final Pattern MODEL_TENSOR = Pattern.compile("token_embd\\..*|output\\..*|output_norm\\..*"
            + "|rope_freqs\\..*|blk\\.\\d+\\..*");

    /** The weight format a tensor type becomes; matrices of one target can share an array. */
    private enum Target { F32, F16, BF16, Q8_32, Q8_16, Q4 }

    private final GgufFile file;
    private final String arch;
    private final boolean unpermute;
    private final int heads;
    private final int kvHeads;

    /**
     * @param unpermute undo the converter's q/k row permutation (the {@code llama} architecture)
     * @param heads     attention heads (for q)
     * @param kvHeads   key/value heads (for k)
     */
    public GgufWeights(GgufFile file, boolean unpermute, int heads, int kvHeads) {
        this.file = file;
        this.arch = file.string("general.architecture");
        this.unpermute = unpermute;
        this.heads = heads;
        this.kvHeads = kvHeads;
    }

    /**
     * The GGUF name of a Hugging Face tensor name in a file of architecture {@code arch} (Gemma 3's norms and Phi-3's
     * fused projections have names of their own), or {@code null} for a name with no GGUF counterpart.
     */
    public static String ggufName(String arch, String hfName) {
        Map<String, String> own = "gemma3".equals(arch) ? GEMMA3_LAYER_NAMES
                : "phi3".equals(arch) ? PHI3_LAYER_NAMES : Map.of();
        Matcher m = LAYER.matcher(hfName);
        if (m.matches() && own.containsKey(m.group(2))) {
            return "blk." + m.group(1) + "." + own.get(m.group(2));
        }
        return ggufName(hfName);
    }

    /** The GGUF name of a Hugging Face tensor name (the Llama family's), or {@code null} for one with no counterpart. */
    public static String ggufName(String hfName) {
        switch (hfName) {
            case "model.embed_tokens.weight":
                return "token_embd.weight";
            case "model.norm.weight":
                return "output_norm.weight";
            case "lm_head.weight":
                return "output.weight";
            default:
                break;
        }
        Matcher m = LAYER.matcher(hfName);
        if (!m.matches()) {
            return null;
        }
        String rest = LAYER_NAMES.get(m.group(2));
        return rest == null ? null : "blk." + m.group(1) + "." + rest;
    }

    /**
     * Refuses, naming the first such tensor and its type, a file whose model tensors have a type that the weight
     * formats cannot hold exactly; called when the file is opened, before any weight is read.
     */
    public static void checkTypes(GgufFile file) {
        for (Tensor t : file.tensors().values()) {
            if (MODEL_TENSOR.matcher(t.name()).matches() && target(t.type()) == null) {
                throw new ModelFormatException(file.path(), "tensor '" + t.name() + "' is " + t.type()
                        + ", a type Specula cannot hold exactly in its weight formats (supported: F32, F16, BF16, Q8_0, "
                        + "Q6_K, Q5_0, Q4_0, Q4_1, Q4_K, which Q8_0 and Q4_K_M files use); requantize the model with "
                        + "llama.cpp's llama-quantize, e.g. to Q4_K_M or Q8_0");
            }
        }
    }

    private static Target target(GgmlType type) {
        return switch (type) {
            case F32 -> Target.F32;
            case F16 -> Target.F16;
            case BF16 -> Target.BF16;
            case Q8_0, Q5_0 -> Target.Q8_32;
            case Q6_K -> Target.Q8_16;
            case Q4_0, Q4_1, Q4_K -> Target.Q4;
            default -> null;
        };
    }

    public GgufFile file() {
        return file;
    }

    /** llama.cpp's converter stores Gemma 3's norms as {@code 1 + w} (float32), Gemma3RMSNorm's factor. */
    @Override
    public boolean gemmaNormsIncludeOne() {
        return "gemma3".equals(arch);
    }

    @Override
    public boolean contains(String name) {
        String g = ggufName(arch, name);
        return g != null && file.tensor(g) != null;
    }

    @Override
    public float[] floats(String name, long... shape) {
        return floats(checked(name, shape));
    }

    /** The {@code rope_freqs} tensor (Llama 3 RoPE scaling as llama.cpp applies it), {@code n} values. */
    public float[] ropeFreqs(int n) {
        return factors("rope_freqs.weight", n);
    }

    /**
     * A 1-dimensional tensor of RoPE factors under its GGUF name ({@code rope_freqs}, Phi-3's
     * {@code rope_factors_short}/{@code rope_factors_long}), {@code n} values.
     */
    public float[] factors(String ggufName, int n) {
        Tensor t = file.tensor(ggufName);
        if (t == null || t.elements() != n) {
            throw new ModelFormatException(file.path(), "tensor '" + ggufName + "': expected " + n + " values, found "
                    + (t == null ? "no such tensor" : t));
        }
        return floats(t);
    }

    private float[] floats(Tensor t) {
        long n = t.elements();
        if (n > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(file.path(), "tensor '" + t.name() + "': " + n
                    + " values, more than one Java array can hold");
        }
        float[] out = new float[(int) n];
        int rows = (int) t.rows();
        int cols = (int) t.cols();
        readRows(t, 0, rows, (src, row) -> decodeFloats(t, src, cols, out, destination(t, row) * cols));
        if (t.ne().length == 1 && permuted(t) > 0) {   // a q or k bias: its elements are the permuted rows
            float[] moved = new float[out.length];
            for (int i = 0; i < out.length; i++) {
                moved[destination(t, i)] = out[i];
            }
            return moved;
        }
        return out;
    }

    @Override
    public void floatRows(String name, int rows, int cols, int from, int to, float[] dst, int at) {
        Tensor t = checked(name, rows, cols);
        if (from < 0 || to > rows || from > to) {
            throw new IndexOutOfBoundsException("rows " + from + ".." + to + " of " + t);
        }
        if (permuted(t) == 0) {
            readRows(t, from, to, (src, row) -> decodeFloats(t, src, cols, dst, at + (row - from) * cols));
        } else {
            for (int r = from; r < to; r++) {
                int target = at + (r - from) * cols;
                readRows(t, source(t, r), source(t, r) + 1, (src, row) -> decodeFloats(t, src, cols, dst, target));
            }
        }
    }

    @Override
    public WeightMatrix matrix(int cols, Part... parts) {
        Tensor[] tensors = new Tensor[parts.length];
        Target common = null;
        boolean mixed = false;
        long rows = 0;
        for (int i = 0; i < parts.length; i++) {
            tensors[i] = checked(parts[i].name(), parts[i].rows(), cols);
            Target target = target(tensors[i].type());
            if (target == null) {
                checkTypes(file);   // names the tensor and its type
            }
            mixed |= common != null && common != target;
            common = target;
            rows += parts[i].rows();
        }
        if (mixed) {
            List<WeightMatrix> stacked = new ArrayList<>();
            for (int i = 0; i < parts.length; i++) {
                stacked.add(read(new Tensor[] {tensors[i]}, target(tensors[i].type()), parts[i].rows(), cols));
            }
            return new StackedMatrix(stacked);
        }
        if (rows * cols > Integer.MAX_VALUE - 8) {
            throw new ModelFormatException(file.path(), "tensors " + Arrays.toString(parts) + ": " + rows + " x "
                    + cols + " weights, more than one Java array can hold");
        }
        return read(tensors, common, (int) rows, cols);
    }

    /** The tensors stacked by rows into one matrix of {@code target}'s format. */
    private WeightMatrix read(Tensor[] tensors, Target target, int rows, int cols) {
        int n = rows * cols;
        int first = 0;
        switch (target) {
            case F32 -> {
                float[] data = new float[n];
                for (Tensor t : tensors) {
                    int base = first;
                    readRows(t, 0, (int) t.rows(), (src, row) -> src.asFloatBuffer().get(data,
                            (base + destination(t, row)) * cols, cols));
                    first += (int) t.rows();
                }
                return new F32Matrix(data, rows, cols);
            }
            case F16, BF16 -> {
                short[] bits = new short[n];
                for (Tensor t : tensors) {
                    int base = first;
                    readRows(t, 0, (int) t.rows(), (src, row) -> src.asShortBuffer().get(bits,
                            (base + destination(t, row)) * cols, cols));
                    first += (int) t.rows();
                }
                return target == Target.BF16 ? new Bf16Matrix(bits, rows, cols) : F16Matrix.of(bits, rows, cols);
            }
            case Q8_32, Q8_16 -> {
                int block = target == Target.Q8_32 ? 32 : 16;
                byte[] q = new byte[n];
                float[] s = new float[n / block];
                for (Tensor t : tensors) {
                    int base = first;
                    readRows(t, 0, (int) t.rows(), (src, row) -> {
                        int r = base + destination(t, row);
                        switch (t.type()) {
                            case Q8_0 -> GgmlBlocks.q8_0(src, cols, q, r * cols, s, r * cols / 32);
                            case Q5_0 -> GgmlBlocks.q5_0(src, cols, q, r * cols, s, r * cols / 32);
                            default -> GgmlBlocks.q6_K(src, cols, q, r * cols, s, r * cols / 16);
                        }
                    });
                    first += (int) t.rows();
                }
                return new Q8Matrix(q, s, rows, cols, block);
            }
            case Q4 -> {
                byte[] q = new byte[n / 2];
                float[] s = new float[n / 32];
                float[] m = new float[n / 32];
                for (Tensor t : tensors) {
                    int base = first;
                    readRows(t, 0, (int) t.rows(), (src, row) -> {
                        int r = base + destination(t, row);
                        switch (t.type()) {
                            case Q4_0 -> GgmlBlocks.q4_0(src, cols, q, r * cols / 2, s, m, r * cols / 32);
                            case Q4_1 -> GgmlBlocks.q4_1(src, cols, q, r * cols / 2, s, m, r * cols / 32);
                            default -> GgmlBlocks.q4_K(src, cols, q, r * cols / 2, s, m, r * cols / 32);
                        }
                    });
                    first += (int) t.rows();
                }
                return new Q4Matrix(q, s, m, rows, cols);
            }
            default -> throw new IllegalStateException("no format for " + target);
        }
    }

    /** One row of any supported type as float32, exactly the values the weight formats hold. */
    private void decodeFloats(Tensor t, ByteBuffer src, int cols, float[] dst, int at) {
        switch (t.type()) {
            case F32 -> src.asFloatBuffer().get(dst, at, cols);
            case F16 -> {
                for (int i = 0; i < cols; i++) {
                    dst[at + i] = HalfFloats.f16ToFloat(src.getShort(src.position() + 2 * i));
                }
            }
            case BF16 -> {
                for (int i = 0; i < cols; i++) {
                    dst[at + i] = HalfFloats.bf16ToFloat(src.getShort(src.position() + 2 * i));
                }
            }
            default -> {
                Target target = target(t.type());
                if (target == null) {
                    checkTypes(file);
                }
                Tensor row = new Tensor(t.name(), new long[] {cols, 1}, t.type(), 0, t.type().rowBytes(cols));
                read(new Tensor[] {row}, target, 1, cols, src).row(0, dst, at);
            }
        }
    }

    /** {@link #read} of a single row already in {@code src} (for dequantizing). */
    private WeightMatrix read(Tensor[] one, Target target, int rows, int cols, ByteBuffer src) {
        return switch (target) {
            case Q8_32, Q8_16 -> {
                int block = target == Target.Q8_32 ? 32 : 16;
                byte[] q = new byte[cols];
                float[] s = new float[cols / block];
                switch (one[0].type()) {
                    case Q8_0 -> GgmlBlocks.q8_0(src, cols, q, 0, s, 0);
                    case Q5_0 -> GgmlBlocks.q5_0(src, cols, q, 0, s, 0);
                    default -> GgmlBlocks.q6_K(src, cols, q, 0, s, 0);
                }
                yield new Q8Matrix(q, s, 1, cols, block);
            }
            case Q4 -> {
                byte[] q = new byte[cols / 2];
                float[] s = new float[cols / 32];
                float[] m = new float[cols / 32];
                switch (one[0].type()) {
                    case Q4_0 -> GgmlBlocks.q4_0(src, cols, q, 0, s, m, 0);
                    case Q4_1 -> GgmlBlocks.q4_1(src, cols, q, 0, s, m, 0);
                    default -> GgmlBlocks.q4_K(src, cols, q, 0, s, m, 0);
                }
                yield new Q4Matrix(q, s, m, 1, cols);
            }
            default -> throw new IllegalStateException("not a block type: " + one[0].type());
        };
    }

    // ---------------------------------------------------------------- rows

    @FunctionalInterface
    private interface RowReader {
        /** {@code src} is positioned at the start of GGUF row {@code row}, little-endian. */
        void row(ByteBuffer src, int row);
    }

    /** GGUF rows {@code [from, to)} of {@code t}, read a chunk of whole rows at a time. */
    private void readRows(Tensor t, int from, int to, RowReader reader) {
        long rowBytes = t.type().rowBytes(t.cols());
        if (to <= from || rowBytes == 0) {
            return;
        }
        ByteBuffer buf = rowBytes <= READ_CHUNK_BYTES ? READ_BUFFER.get()
                : ByteBuffer.allocateDirect((int) rowBytes).order(ByteOrder.LITTLE_ENDIAN);
        int perChunk = (int) Math.max(1, Math.min(to - from, buf.capacity() / rowBytes));
        for (int r = from; r < to; r += perChunk) {
            int n = Math.min(perChunk, to - r);
            buf.clear().limit((int) (n * rowBytes));
            file.read(t, r * rowBytes, buf);
            for (int i = 0; i < n; i++) {
                ByteBuffer row = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
                row.position((int) (i * rowBytes)).limit((int) ((i + 1) * rowBytes));
                reader.row(row.slice().order(ByteOrder.LITTLE_ENDIAN), r + i);
            }
        }
    }

    /** The number of heads whose q or k rows the converter permuted in {@code t}, 0 when not permuted. */
    private int permuted(Tensor t) {
        if (!unpermute) {
            return 0;
        }
        String n = t.name();
        if (n.endsWith(".attn_q.weight") || n.endsWith(".attn_q.bias")) {
            return heads;
        }
        if (n.endsWith(".attn_k.weight") || n.endsWith(".attn_k.bias")) {
            return kvHeads;
        }
        return 0;
    }

    /**
     * Where GGUF row {@code row} goes in the Hugging Face layout: the converter moved row {@code h*hd + j*half + i}
     * to {@code h*hd + 2i + j}; this moves it back.
     */
    private int destination(Tensor t, int row) {
        int h = permuted(t);
        if (h == 0) {
            return row;
        }
        int hd = (int) (permutedRows(t) / h);
        int half = hd / 2;
        int head = row / hd;
        int within = row % hd;
        return head * hd + (within % 2) * half + within / 2;
    }

    /** The GGUF row that holds Hugging Face row {@code row}: the inverse of {@link #destination}. */
    private int source(Tensor t, int row) {
        int h = permuted(t);
        if (h == 0) {
            return row;
        }
        int hd = (int) (permutedRows(t) / h);
        int half = hd / 2;
        int head = row / hd;
        int within = row % hd;
        return head * hd + 2 * (within % half) + within / half;
    }

    /** What the permutation moves: the rows of a matrix, the elements of a bias. */
    private static long permutedRows(Tensor t) {
        return t.ne().length == 1 ? t.cols() : t.rows();
    }

    /** The tensor behind a Hugging Face name, with the shape checked ({@code shape} in Hugging Face order). */
    private Tensor checked(String hfName, long... shape) {
        String g = ggufName(arch, hfName);
        Tensor t = g == null ? null : file.tensor(g);
        if (t == null) {
            throw new ModelFormatException(file.path(), "tensor '" + (g == null ? hfName : g) + "' not found"
                    + (g == null ? "" : " (the model needs it for " + hfName + ")"));
        }
        long[] actual = t.shape();
        if (!Arrays.equals(actual, shape)) {
            throw new ModelFormatException(file.path(), "tensor '" + t.name() + "': expected shape "
                    + Arrays.toString(shape) + " (from the metadata), got " + Arrays.toString(actual)
                    + " (ne " + Arrays.toString(t.ne()) + ")");
        }
        int h = permuted(t);
        if (h > 0 && (permutedRows(t) % (2L * h) != 0)) {
            throw new ModelFormatException(file.path(), "tensor '" + t.name() + "': " + permutedRows(t)
                    + " rows cannot be " + h + " heads of an even size");
        }
        return t;
    }

    @Override
    public String toString() {
        return "GgufWeights[" + file.path() + "]";
    }
}
