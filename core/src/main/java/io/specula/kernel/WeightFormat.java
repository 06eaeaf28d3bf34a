package io.specula.kernel;

/**
 * How a {@link WeightMatrix} stores its weights. The kernels dispatch on this once per call.
 *
 * <table>
 *   <caption>formats, bytes per weight, and the GGUF tensor types each can hold exactly</caption>
 *   <tr><th>format</th><th>bytes/weight</th><th>holds</th></tr>
 *   <tr><td>{@link #F32}</td><td>4</td><td>F32</td></tr>
 *   <tr><td>{@link #F16}</td><td>2</td><td>F16 (finite values)</td></tr>
 *   <tr><td>{@link #BF16}</td><td>2</td><td>BF16</td></tr>
 *   <tr><td>{@link #Q8}</td><td>1.125 (blocks of 32), 1.25 (blocks of 16)</td><td>Q8_0; Q6_K as blocks of 16</td></tr>
 *   <tr><td>{@link #Q4}</td><td>0.75</td><td>Q4_0, Q4_1, Q4_K</td></tr>
 *   <tr><td>{@link #STACKED}</td><td>its parts'</td><td>a fused projection whose parts differ in type</td></tr>
 * </table>
 */
public enum WeightFormat {
    /** float32. */
    F32,
    /** IEEE binary16, widened exactly in the kernels. */
    F16,
    /** bfloat16, widened exactly in the kernels. */
    BF16,
    /** Blocks of 16 or 32 int8 values with one float scale each ({@link Q8Matrix}). */
    Q8,
    /** Blocks of 32 unsigned 4-bit values with a float scale and a float minimum each ({@link Q4Matrix}). */
    Q4,
    /** Row ranges in different formats ({@link StackedMatrix}); the kernels run each part with its own kernel. */
    STACKED
}
