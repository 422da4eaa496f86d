package io.vitq.quant;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/**
 * A non-uniform quantizer with an integer form: at most 2^k levels, each a code of an unsigned
 * 8-bit grid (step s, zero point z). An input is rounded to the grid, {@code g = clamp(rint(x / s)
 * + z, 0, 255)}, then replaced by the level of the segment g falls in, {@code L(g)}, and
 * dequantized as {@code (L(g) - z) * s}. Segment i is the grid codes {@code [starts[i],
 * starts[i+1])} (the last one ends at 255) and holds its level; the fit places the boundaries
 * (near the midpoints between levels, where the values fall, not fixed there). The k-bit code is
 * the level's index; it is what a k-bit activation store holds, and a 2^k-entry table turns it back
 * into the 8-bit grid code.
 *
 * <p>For post-GELU activations (fc2's input), whose values crowd near zero with a long positive
 * tail: the levels can be dense where the values are and sparse in the tail, which a uniform k-bit
 * grid cannot (AdaLog's adaptive logarithmic quantizer has the same aim with log-spaced levels;
 * docs/LOWBIT.md). Rounding to the grid first, then to a level, is what makes the quantizer exact in
 * integers and in ONNX (QuantizeLinear, a 256-entry table, DequantizeLinear).
 *
 * <p>Integer form: one component, the grid code {@code L(g)} with the zero point z, i.e. the
 * asymmetric quantizer's form: products run on uint8 grid codes with z's column-sum correction.
 */
public record CodebookOperand(int bits, float scale, int zeroPoint, int[] levels, int[] starts) implements OperandQuant {
    public static final String KIND = "codebook";
    /** The grid's codes are uint8. */
    public static final int GRID_CODES = 256;

    public CodebookOperand {
        QuantChecks.bits(bits, "codebook operand");
        if (bits > 8) throw new IllegalArgumentException("codebook operand: " + bits + " bits (levels on an 8-bit grid: at most 8)");
        QuantChecks.scale("codebook operand scale", scale);
        if (zeroPoint < 0 || zeroPoint >= GRID_CODES)
            throw new IllegalArgumentException("codebook operand: zero point " + zeroPoint + " outside [0, 255]");
        if (levels == null || levels.length == 0 || levels.length > 1 << bits)
            throw new IllegalArgumentException("codebook operand: " + (levels == null ? 0 : levels.length) + " levels for "
                    + bits + " bits (expected 1 to " + (1 << bits) + ")");
        levels = levels.clone();
        for (int i = 0; i < levels.length; i++) {
            if (levels[i] < 0 || levels[i] >= GRID_CODES)
                throw new IllegalArgumentException("codebook operand: level " + levels[i] + " outside the grid [0, 255]");
            if (i > 0 && levels[i] <= levels[i - 1])
                throw new IllegalArgumentException("codebook operand: levels must increase (" + levels[i - 1] + " then " + levels[i] + ")");
        }
        if (starts == null || starts.length != levels.length)
            throw new IllegalArgumentException("codebook operand: " + (starts == null ? 0 : starts.length) + " segment starts for "
                    + levels.length + " levels");
        starts = starts.clone();
        if (starts[0] != 0) throw new IllegalArgumentException("codebook operand: the first segment starts at " + starts[0] + ", not 0");
        for (int i = 0; i < levels.length; i++) {
            int end = i + 1 < levels.length ? starts[i + 1] : GRID_CODES;
            if (levels[i] < starts[i] || levels[i] >= end)
                throw new IllegalArgumentException("codebook operand: level " + levels[i] + " outside its segment [" + starts[i]
                        + ", " + (end - 1) + "]");
        }
    }

    /** The levels with each grid code taking its nearest (the lower one on a tie). */
    public static CodebookOperand nearest(int bits, float scale, int zeroPoint, int[] levels) {
        int[] starts = new int[levels.length];
        for (int i = 1; i < levels.length; i++) starts[i] = Math.floorDiv(levels[i - 1] + levels[i], 2) + 1;
        return new CodebookOperand(bits, scale, zeroPoint, levels, starts);
    }

    @Override
    public int[] levels() { return levels.clone(); }

    @Override
    public int[] starts() { return starts.clone(); }

    /** For every grid code, the level of its segment. */
    public int[] table() {
        int[] t = new int[GRID_CODES];
        for (int i = 0; i < levels.length; i++) {
            int end = i + 1 < levels.length ? starts[i + 1] : GRID_CODES;
            java.util.Arrays.fill(t, starts[i], end, levels[i]);
        }
        return t;
    }

    @Override
    public String quantizerName() { return KIND; }

    @Override
    public String displayName() { return "codebook"; }

    @Override
    public String refuses(OperandRole role) {
        return role == OperandRole.LINEAR_INPUT ? null : "codebook quantizes a Linear input (per tensor), not " + role;
    }

    /** The quantizer of the grid codes relative to the zero point, {@code g - z}. */
    private UniformQuantizer relative() { return new UniformQuantizer(8, -zeroPoint, GRID_CODES - 1 - zeroPoint); }

    @Override
    public void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n) {
        relative().codeValues(opId, scale, src, off, dst, dOff, n);   // g - z, checked finite
        int[] t = table();
        for (int i = dOff; i < dOff + n; i++) dst[i] = (float) (t[(int) dst[i] + zeroPoint] - zeroPoint) * scale;
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
        if (pre != 1f) throw new IllegalArgumentException(opId + ": the codebook quantizer takes no pre-scale");
        return new UnsignedGridCodes(opId, relative(), scale, zeroPoint, GRID_CODES - 1, table());
    }

    @Override
    public String toOnnx(QdqGraph g, String x, String scope, int axis, int rank) {
        return g.qdqTable(x, scope, scale, zeroPoint, table());
    }

    @Override
    public String summary() { return KIND + "/" + levels.length + "-levels"; }

    @Override
    public List<String> inspectCells() {
        return List.of(KIND, "per-tensor", Integer.toString(levels.length), Format.num(scale) + ", zero point " + zeroPoint
                + ", levels " + Arrays.toString(levels) + ", from " + Arrays.toString(starts));
    }

    @Override
    public void writeJson(JsonGenerator g) throws IOException {
        g.writeNumberField("scale", scale);
        g.writeNumberField("zeroPoint", zeroPoint);
        g.writeArrayFieldStart("levels");
        for (int l : levels) g.writeNumber(l);
        g.writeEndArray();
        g.writeArrayFieldStart("starts");
        for (int l : starts) g.writeNumber(l);
        g.writeEndArray();
    }

    static CodebookOperand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("scale", "zeroPoint", "levels", "starts"));
        int bits = f.integer("bits"), z = f.integer("zeroPoint");
        float s = f.number("scale");
        int[] levels = f.integers("levels"), starts = f.integers("starts");
        return f.build(() -> new CodebookOperand(bits, s, z, levels, starts));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodebookOperand c && c.bits == bits && c.zeroPoint == zeroPoint
                && Float.floatToIntBits(c.scale) == Float.floatToIntBits(scale) && Arrays.equals(c.levels, levels)
                && Arrays.equals(c.starts, starts);
    }

    @Override
    public int hashCode() {
        return (((bits * 31 + Float.hashCode(scale)) * 31 + zeroPoint) * 31 + Arrays.hashCode(levels)) * 31 + Arrays.hashCode(starts);
    }

    @Override
    public String toString() {
        return "CodebookOperand[bits=" + bits + ", scale=" + scale + ", zeroPoint=" + zeroPoint + ", levels=" + Arrays.toString(levels)
                + ", starts=" + Arrays.toString(starts) + "]";
    }
}
