package io.vitq.quant;

import java.util.List;

import com.fasterxml.jackson.core.JsonGenerator;

import java.io.IOException;

/**
 * PTQ4ViT's twin uniform quantizer for post-GELU activations ({@link TwinGeluQuantizer}): a negative
 * range with step Δneg and a positive range with step Δpos, for a Linear input (fc2's). Both steps
 * are stored, so a plan states the quantizer completely even though vitq's calibration fixes the
 * negative step. Integer form: the negative range is the fine component, the positive range the
 * coarse one; with {@code Δpos = 2^m Δneg} (the power-of-two option) also the shift form.
 */
public record TwinGeluOperand(int bits, float positiveStep, float negativeStep) implements OperandQuant {
    public static final String KIND = "twin-gelu";

    public TwinGeluOperand {
        QuantChecks.bits(bits, "twin GELU operand");
        QuantChecks.scale("twin GELU operand positive step", positiveStep);
        QuantChecks.scale("twin GELU operand negative step", negativeStep);
    }

    /** With the reference's fixed negative step for this bit width. */
    public static TwinGeluOperand withDefaultNegativeStep(int bits, float positiveStep) {
        return new TwinGeluOperand(bits, positiveStep, TwinGeluQuantizer.defaultNegativeStep(bits));
    }

    @Override
    public String quantizerName() { return KIND; }

    public TwinGeluQuantizer quantizer() { return new TwinGeluQuantizer(bits, positiveStep, negativeStep); }

    /** True when positiveStep = 2^m · negativeStep (integer shift alignment possible). */
    public boolean isPowerOfTwo() { return TwinGeluQuantizer.powerOfTwoShift(positiveStep, negativeStep) >= 0; }

    @Override
    public String displayName() { return "twin GELU"; }

    @Override
    public String refuses(OperandRole role) {
        return role == OperandRole.LINEAR_INPUT ? null : "twin-gelu is for a post-GELU Linear input (fc2's), not " + role;
    }

    @Override
    public void fakeQuant(String opId, int scaleIndex, float[] src, int off, float[] dst, int dOff, int n) {
        quantizer().fakeQuant(opId, src, off, dst, dOff, n);
    }

    @Override
    public CodeForm codeForm(String opId, int scaleIndex, float pre, boolean layoutCodes) {
        if (pre != 1f) throw new IllegalArgumentException(opId + ": twin GELU takes no pre-scale");
        TwinGeluQuantizer q = quantizer();
        float pos = q.positiveStep(), neg = q.negativeStep(), levels = q.levels();
        // the fake quant clamps the negative range at -2^(k-1); the uint8 layout (ALGORITHMS section 6) at -L
        float negMin = layoutCodes ? -q.levels() : -q.rangeFlag();
        int shift = q.isPowerOfTwo() ? q.shift() : -1;
        return new CodeForm() {
            @Override public int components() { return 2; }

            @Override public float unit(int c) { return c == 0 ? neg : pos; }

            @Override public int shift() { return shift; }

            @Override
            public long maxAbs(boolean combined) {
                return combined ? ShiftForm.geluOperandBound(q, (long) -negMin) : Math.max(q.levels(), (long) -negMin);
            }

            @Override public boolean int8() { return bits <= 8; }

            @Override
            public boolean encode(float[] x, int off, int n, int[] c0, int[] c1, int dOff) {
                return ActivationCodes.geluSplit(x, off, n, pos, neg, levels, negMin, c1, c0, dOff);
            }

            @Override
            public boolean encode(float[] x, int off, int n, byte[] c0, byte[] c1, int dOff) {
                return ActivationCodes.geluSplit(x, off, n, pos, neg, levels, negMin, c1, c0, dOff);
            }

            @Override
            public boolean encodeCombined(float[] x, int off, int n, int[] c, int dOff) {
                if (shift < 0) throw new IllegalStateException(opId + ": twin GELU without the power-of-two option has no shift form");
                return ActivationCodes.geluShift(x, off, n, pos, neg, levels, negMin, shift, c, dOff);
            }

            @Override
            public void encodeFloats(String id, float[] x, int off, int n, float[] c0, float[] c1, int dOff) {
                q.codeValues(id, x, off, c1, c0, dOff, n);
            }

            /** c0 is the negative range's code (<= 0), c1 the positive range's (>= 0). */
            @Override
            public int storedCode(int c0, int c1) {
                if (c1 != 0) return q.rangeFlag() | c1;
                if (-c0 > q.levels())
                    throw new IllegalArgumentException(opId + ": twin GELU code " + c0 + " has no " + bits
                            + "-bit layout code (its magnitude is at most " + q.levels() + "): encode with the layout codes");
                return -c0;
            }

            @Override public String storedLayout() { return "twin-gelu"; }
        };
    }

    @Override
    public String toOnnx(QdqGraph g, String x, String scope, int axis, int rank) {
        long half = 1L << (bits - 1);
        // the negative branch is selected for x < 0 only (codes <= 0), the positive one for x >= 0 (codes >= 0)
        String negative = g.qdq(x, scope + "/twin_neg", new float[] {negativeStep}, -1, rank, bits, -half, 0, true, false);
        String positive = g.qdq(x, scope + "/twin_pos", new float[] {positiveStep}, -1, rank, bits, 0, half - 1, false, true);
        return g.where(g.less(x, 0f, scope + "/twin_is_neg"), negative, positive, scope + "/twin_gelu");
    }

    /**
     * The two ranges' QDQ values, each clamped to its own side of zero, so that each is 0 where the
     * other range applies and their sum is the twin's value; a product with them is the integer
     * runtime's split form, two integer products added. The negative range's low clamp
     * {@code -2^(k-1)} is left out when GELU cannot reach it (its minimum, -0.16997, rounds to a
     * code above it, as with the default Δ_neg, which is that minimum over {@code 2^(k-1)}), so
     * that the export needs no clamp pass for them at all (it stores the codes shifted so that
     * QuantizeLinear's saturation is the clamp at zero; the integer form stores the negative range's
     * magnitudes with the negated step, codes at most 2^(k-1), {@code QdqEmitter.mirroredCodes}).
     */
    @Override
    public List<String> toOnnxParts(QdqGraph g, String x, String scope, int axis, int rank) {
        long half = 1L << (bits - 1);
        String negative = g.qdq(x, scope + "/twin_neg", new float[] {negativeStep}, -1, rank, bits, -half, 0,
                geluReachesLowBound(), true);
        String positive = g.qdq(x, scope + "/twin_pos", new float[] {positiveStep}, -1, rank, bits, 0, half - 1, true, true);
        return List.of(negative, positive);
    }

    /**
     * Whether a GELU output can round below the negative range's lowest code {@code -2^(k-1)}:
     * whether GELU's minimum lies below {@code -(2^(k-1) + 1/2) Δ_neg}, with a relative margin of
     * 1e-4 for the float evaluation of GELU (far above its error, far below the half step that decides).
     */
    private boolean geluReachesLowBound() {
        return TwinGeluQuantizer.GELU_MIN_MAGNITUDE * (1 + 1e-4) >= ((1L << (bits - 1)) + 0.5) * negativeStep;
    }

    @Override
    public String summary() { return KIND + "/" + (isPowerOfTwo() ? "power-of-two" : "linear"); }

    @Override
    public java.util.List<String> inspectCells() {
        return java.util.List.of(KIND, "per-tensor", "2", "positive " + Format.num(positiveStep) + ", negative "
                + Format.num(negativeStep));
    }

    @Override
    public void writeJson(JsonGenerator g) throws IOException {
        g.writeNumberField("positiveStep", positiveStep);
        g.writeNumberField("negativeStep", negativeStep);
    }

    static TwinGeluOperand fromJson(PlanFields f) {
        f.only(OperandQuant.fields("positiveStep", "negativeStep"));
        int bits = f.integer("bits");
        float pos = f.number("positiveStep"), neg = f.number("negativeStep");
        return f.build(() -> new TwinGeluOperand(bits, pos, neg));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TwinGeluOperand t && t.bits == bits
                && Float.floatToIntBits(t.positiveStep) == Float.floatToIntBits(positiveStep)
                && Float.floatToIntBits(t.negativeStep) == Float.floatToIntBits(negativeStep);
    }

    @Override
    public int hashCode() { return (bits * 31 + Float.hashCode(positiveStep)) * 31 + Float.hashCode(negativeStep); }
}
