package io.specula.model;

import io.specula.kernel.WeightFormat;

import java.util.Locale;

/**
 * How a model's weight matrices are stored for the CPU kernels, chosen per model when it is loaded
 * ({@code spring.ai.specula.target-quantization} and {@code drafter-quantization}, the CLI's {@code --quantize}).
 * Every rule about which matrix gets which format is here.
 *
 * <ul>
 *   <li>{@link #NONE} (the default): the precision of the checkpoint. F16 and BF16 stay 16-bit, F32 stays F32;
 *       nothing is ever made less precise unless asked.</li>
 *   <li>{@link #Q8_0}: every matrix (the embedding and output head included) in blocks of 32 int8 with a scale, as
 *       llama.cpp's Q8_0 (1.125 bytes per weight).</li>
 *   <li>{@link #Q4_0}, {@link #Q4_1}: the decoder layers' matrices in 4-bit blocks of 32 (0.75 bytes per weight in
 *       memory): Q4_0 with llama.cpp's symmetric rule, Q4_1 with a fitted scale and minimum per block (better,
 *       same speed). The output head, and the embedding when it is tied to it, stay at Q8_0, as llama.cpp's Q4_K_M
 *       keeps its output at 6 bits: the head's errors go straight into every logit (docs/quantization.md has the
 *       measurements). An untied embedding is quantized like the layers: only one of its rows is read per token.</li>
 * </ul>
 * A matrix whose rows are not a whole number of 32-weight blocks cannot be block-quantized and keeps its stored
 * precision (the load log counts them). Norms and biases are always float32.
 */
public enum Quantization {
    NONE("none"),
    Q8_0("q8_0"),
    Q4_0("q4_0"),
    Q4_1("q4_1");

    /** What a matrix is for, which decides its format under a quantization. */
    public enum Role {
        /** A projection inside a decoder layer. */
        LAYER,
        /** The output head (lm_head) when it is its own tensor. */
        OUTPUT,
        /** The token embedding when it is not tied to the output head. */
        EMBEDDING,
        /** One matrix used as embedding and as output head (tie_word_embeddings). */
        TIED_EMBEDDING
    }

    private final String option;

    Quantization(String option) {
        this.option = option;
    }

    /** The name used in properties and on the command line, e.g. "q8_0". */
    public String option() {
        return option;
    }

    /**
     * The quantization named {@code value} (any case, surrounding blanks ignored; empty or null is {@link #NONE}).
     *
     * @param setting the property or option being read, named in the error, e.g.
     *                "spring.ai.specula.target-quantization" or "--quantize"
     * @throws IllegalArgumentException naming the setting, the value and the accepted values
     */
    public static Quantization parse(String setting, String value) {
        if (value == null || value.isBlank()) {
            return NONE;
        }
        String v = value.trim().toLowerCase(Locale.ROOT);
        for (Quantization q : values()) {
            if (q.option.equals(v)) {
                return q;
            }
        }
        throw new IllegalArgumentException(setting + ": '" + value + "' is not a weight quantization; expected "
                + names());
    }

    /** "none, q8_0, q4_0 or q4_1". */
    public static String names() {
        return "none, q8_0, q4_0 or q4_1";
    }

    /**
     * The format a matrix of this role gets, or {@code null} to keep the precision it is stored in.
     */
    public WeightFormat formatFor(Role role) {
        return switch (this) {
            case NONE -> null;
            case Q8_0 -> WeightFormat.Q8;
            case Q4_0, Q4_1 -> role == Role.OUTPUT || role == Role.TIED_EMBEDDING ? WeightFormat.Q8 : WeightFormat.Q4;
        };
    }

    @Override
    public String toString() {
        return option;
    }
}
