package io.vitq.quant;

import java.util.Objects;

/**
 * Applies a vector of scales to the ranges of a tensor they govern: rows of a weight (by
 * {@link Granularity}), head columns of q/k/v activations, and per-head slices of attention
 * probabilities. Each range goes through the vectorised {@link UniformQuantizer} path, so results
 * equal element-by-element {@link UniformQuantizer#fakeQuant(float, float)} with the right scale.
 * Also the matching max-|x| reductions for the initial scales.
 */
public final class ScaledRanges {
    private ScaledRanges() {}

    /**
     * Fake-quantizes a row-major {@code [rows, cols]} weight by its operand into {@code dst} (same
     * layout; may be {@code w} itself): row r through the quantizer of its scale
     * {@code g.scaleIndexOfRow(r, rows, scales)} (symmetric, or relative to that scale's zero point).
     */
    public static void fakeQuantRows(UniformOperand q, String opId, float[] w, int rows, int cols, float[] dst) {
        float[] scales = q.scales();
        checkRows(opId, q.granularity(), scales, w, rows, cols);
        QuantChecks.range(dst, 0, rows * cols);
        UniformQuantizer[] byScale = quantizers(q);
        for (int r = 0; r < rows; r++) {
            int s = q.granularity().scaleIndexOfRow(r, rows, scales.length);
            byScale[s].fakeQuant(opId, scales[s], w, r * cols, dst, r * cols, cols);
        }
    }

    /** The codes of a {@code [rows, cols]} weight by its operand, row-major, as signed bytes (bits ≤ 8; relative to the zero points). */
    public static byte[] codesRows(UniformOperand q, String opId, float[] w, int rows, int cols) {
        float[] scales = q.scales();
        checkRows(opId, q.granularity(), scales, w, rows, cols);
        UniformQuantizer[] byScale = quantizers(q);
        byte[] codes = new byte[rows * cols];
        for (int r = 0; r < rows; r++) {
            int s = q.granularity().scaleIndexOfRow(r, rows, scales.length);
            byScale[s].codes(opId, scales[s], w, r * cols, codes, r * cols, cols);
        }
        return codes;
    }

    /** The codes of a {@code [rows, cols]} weight by its operand, row-major, as shorts (relative to the zero points). */
    public static short[] shortCodesRows(UniformOperand q, String opId, float[] w, int rows, int cols) {
        float[] scales = q.scales();
        checkRows(opId, q.granularity(), scales, w, rows, cols);
        UniformQuantizer[] byScale = quantizers(q);
        short[] codes = new short[rows * cols];
        for (int r = 0; r < rows; r++) {
            int s = q.granularity().scaleIndexOfRow(r, rows, scales.length);
            byScale[s].codes(opId, scales[s], w, r * cols, codes, r * cols, cols);
        }
        return codes;
    }

    private static UniformQuantizer[] quantizers(UniformOperand q) {
        UniformQuantizer[] byScale = new UniformQuantizer[q.scaleCount()];
        if (!q.asymmetric()) {
            java.util.Arrays.fill(byScale, q.quantizer());
        } else {
            for (int i = 0; i < byScale.length; i++) byScale[i] = q.quantizer(i);
        }
        return byScale;
    }

    /** max |w| over each scale's rows: the input of {@link ScaleGrid#initScale} per channel or block. */
    public static float[] maxAbsRows(String opId, Granularity g, int scaleCount, float[] w, int rows, int cols) {
        Objects.requireNonNull(w, "w");
        g.checkRows(opId, scaleCount, rows);
        QuantChecks.range(w, 0, rows * cols);
        float[] max = new float[scaleCount];
        for (int r = 0; r < rows; r++) {
            int s = g.scaleIndexOfRow(r, rows, scaleCount);
            max[s] = Math.max(max[s], ScaleGrid.maxAbs(opId, w, r * cols, cols));
        }
        return max;
    }

    /**
     * Per-head fake quant of q, k or v activations: {@code rows} rows starting at {@code off}, row
     * stride {@code ld}, the part's heads starting at column {@code colOff}; head h (columns
     * {@code colOff + h·d ..}) uses {@code scales[h]}. For the fused qkv buffer {@code ld = 3·dim}
     * and {@code colOff = part.columnOffset(dim)}; for a separate q buffer {@code ld = dim},
     * {@code colOff = 0}. Only the part's columns of {@code dst} (same layout, may be {@code x}) are written.
     */
    public static void fakeQuantHeads(UniformQuantizer q, String opId, HeadLayout heads, float[] scales,
                                      float[] x, int off, int rows, int ld, int colOff, float[] dst) {
        checkHeads(opId, heads, scales, x, off, rows, ld, colOff);
        QuantChecks.range(dst, off, rows == 0 ? 0 : (rows - 1) * ld + colOff + heads.dim());
        int d = heads.headDim();
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < heads.heads(); h++) {
                int start = off + r * ld + colOff + heads.firstColumn(h);
                q.fakeQuant(opId, scales[h], x, start, dst, start, d);
            }
    }

    /** max |x| per head over the same layout as {@link #fakeQuantHeads}. */
    public static float[] maxAbsHeads(String opId, HeadLayout heads, float[] x, int off, int rows, int ld, int colOff) {
        checkHeads(opId, heads, null, x, off, rows, ld, colOff);
        float[] max = new float[heads.heads()];
        for (int r = 0; r < rows; r++)
            for (int h = 0; h < heads.heads(); h++)
                max[h] = Math.max(max[h], ScaleGrid.maxAbs(opId, x, off + r * ld + colOff + heads.firstColumn(h), heads.headDim()));
        return max;
    }

    /**
     * Per-head fake quant of a head-major {@code [groups][heads][sliceLen]} tensor (attention
     * probabilities, sliceLen = T·T): slice (g, h) uses {@code scales[h]}.
     */
    public static void fakeQuantHeadSlices(UniformQuantizer q, String opId, float[] scales, float[] x, int off,
                                           int groups, int sliceLen, float[] dst) {
        Objects.requireNonNull(scales, "scales");
        QuantChecks.scales(opId, scales);
        int heads = scales.length;
        QuantChecks.range(x, off, groups * heads * sliceLen);
        QuantChecks.range(dst, off, groups * heads * sliceLen);
        for (int g = 0; g < groups; g++)
            for (int h = 0; h < heads; h++) {
                int start = off + (g * heads + h) * sliceLen;
                q.fakeQuant(opId, scales[h], x, start, dst, start, sliceLen);
            }
    }

    private static void checkRows(String opId, Granularity g, float[] scales, float[] w, int rows, int cols) {
        Objects.requireNonNull(scales, "scales");
        g.checkRows(opId, scales.length, rows);
        QuantChecks.scales(opId, scales);
        QuantChecks.range(w, 0, rows * cols);
    }

    private static void checkHeads(String opId, HeadLayout heads, float[] scales, float[] x, int off, int rows, int ld,
                                   int colOff) {
        if (scales != null) {
            if (scales.length != heads.heads())
                throw new IllegalArgumentException(opId + ": " + heads.heads() + " heads need " + heads.heads()
                        + " per-head scales, got " + scales.length);
            QuantChecks.scales(opId, scales);
        }
        if (colOff < 0 || colOff + heads.dim() > ld)
            throw new IllegalArgumentException(opId + ": heads at columns " + colOff + ".." + (colOff + heads.dim() - 1)
                    + " do not fit a row stride of " + ld);
        if (rows > 0) QuantChecks.range(x, off, (rows - 1) * ld + colOff + heads.dim());
    }
}
