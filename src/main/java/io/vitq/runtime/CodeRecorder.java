package io.vitq.runtime;

import io.vitq.quant.CodeForm;

/**
 * Receives what {@link IntegerExecutor} computes for each quantized op (for {@code vitq dump}):
 * the integer operands, the raw integer sums and the dequantized result, exactly as the runtime
 * produced them. The row and head calls of one op may come from several threads at once, always
 * for disjoint rows or heads.
 *
 * <p>Component codes follow {@link CodeForm}: c0 (fine range; a uniform code, an asymmetric one
 * with its zero point added) and c1 (a twin's coarse range, else null). The sums are those of the
 * op's {@link IntegerExecutor.OpForm}: INT8 one sum of c0 (before an asymmetric input's zero-point
 * correction), SHIFT one sum of {@code c0 + c1 * 2^m}, SPLIT and a two-component WIDE two sums, of
 * c0 and of c1.
 */
public interface CodeRecorder {
    /**
     * A quantized Linear op, as prepared: its weight codes ({@code [out][in]}), per-row weight steps and
     * bias. An asymmetric weight's codes are relative to its zero point, {@code c = q - z} in
     * {@code [-z, 2^bits - 1 - z]}; {@code weightZeroPoint} gives z per output row (null: symmetric).
     */
    record LinearOp(String id, IntegerExecutor.OpForm form, int in, int out, CodeForm input, int inputBits, short[] weightCodes,
                    int weightBits, float[] weightStep, int[] weightZeroPoint, float[] bias) {}

    /** A quantized matmul of an attention op: per head, the code forms of operand a and operand b. */
    record Matmul(String id, IntegerExecutor.OpForm form, int heads, int tokens, int headDim, CodeForm[] a, int aBits,
                  CodeForm[] b, int bBits) {}

    /** The Linear op starts on {@code rows} rows. */
    void linearStarts(LinearOp op, int rows);

    /**
     * Rows {@code [r0, r0 + n)} of the op that started: codes ({@code n x in}), sums ({@code n x out};
     * {@code acc2} null for one sum) and the output before the fused activation and before a residual
     * is added ({@code n x out}).
     */
    void linearRows(String id, int r0, int n, int[] c0, int[] c1, long[] acc1, long[] acc2, float[] out);

    /** An attention op starts on {@code groups} groups (images, or Swin windows); null for a matmul that runs in float. */
    void attentionStarts(Matmul matmul1, Matmul matmul2, int groups);

    /**
     * matmul1 of one (group, head): q and k codes ({@code T x d}), the sums {@code q . k^T}
     * ({@code T x T}) and the dequantized scores, before the softmax's scale and bias.
     */
    void matmul1(String id, int group, int head, int[] q, int[] k, long[] acc, float[] scores);

    /**
     * matmul2 of one (group, head): the probabilities' codes ({@code T x T}; p1 null with one
     * component), v's codes ({@code T x d}), the sums ({@code T x d}; acc2 null for one) and the output.
     */
    void matmul2(String id, int group, int head, int[] p0, int[] p1, int[] v, long[] acc1, long[] acc2, float[] out);
}
