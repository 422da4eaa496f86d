package io.vitq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * PTQ4ViT's twin uniform quantizer for post-GELU activations (fc2's input): the negative side
 * (GELU's output lies in [-0.17, 0) there) and the positive side get separate steps.
 * <pre>
 *   neg = clamp(rint(x / Δ_neg), -2^(k-1), 0) · Δ_neg
 *   pos = clamp(rint(x / Δ_pos), 0, 2^(k-1) - 1) · Δ_pos
 *   x̂   = pos + neg            (at most one of them is non-zero)
 * </pre>
 * Δ_neg defaults to the reference's fixed {@code 0.16997124254703522 / 2^(k-1)} (|min GELU| over
 * the levels). Δ_pos is whatever the plan says: the reference's linear grid, or the paper's
 * {@code 2^m · Δ_neg}; {@link #isPowerOfTwo()} tells an integer runtime whether positive codes can
 * be aligned to negative units by a left shift of {@link #shift()} bits.
 *
 * <p>Integer codes (ALGORITHMS section 6, k bits): the top bit {@code 2^(k-1)} marks a positive
 * value, the low k-1 bits hold the magnitude {@code clamp(rint(x / Δ_pos), 0, L)} or
 * {@code clamp(rint(-x / Δ_neg), 0, L)}, {@code L = 2^(k-1) - 1}. Zero has the single code 0:
 * a positive input whose magnitude rounds to 0 gets code 0, so the flag-only code (value 0) is an
 * alias that encode never produces; every other code satisfies {@code encode(decode(c)) == c}.
 * {@code decode(encode(x)) == fakeQuant(x)} except for {@code x ≤ -(L + 0.5) · Δ_neg} (the tie
 * rounds to even, 2^(k-1)), where the fake quant reaches {@code -2^(k-1) · Δ_neg} and the code
 * saturates one level earlier at {@code -L · Δ_neg} (the reference export clamps the same way).
 */
public final class TwinGeluQuantizer implements TwinCodes {
    /** |min GELU(x)|, reached at x ≈ -0.7518; the reference's fixed negative range. */
    public static final double GELU_MIN_MAGNITUDE = 0.16997124254703522;

    private static final VectorSpecies<Float> FS = Rounding.FS;

    private final int bits, flag, shift;
    private final float positiveStep, negativeStep, levels, minNegative;

    /** With the reference's fixed negative step {@link #defaultNegativeStep(int)}. */
    public TwinGeluQuantizer(int bits, float positiveStep) {
        this(bits, positiveStep, defaultNegativeStep(bits));
    }

    public TwinGeluQuantizer(int bits, float positiveStep, float negativeStep) {
        this.bits = QuantChecks.bits(bits, "twin GELU quantizer");
        this.positiveStep = QuantChecks.scale("twin GELU positive step", positiveStep);
        this.negativeStep = QuantChecks.scale("twin GELU negative step", negativeStep);
        this.flag = 1 << (bits - 1);
        this.levels = flag - 1;
        this.minNegative = -flag;
        this.shift = powerOfTwoShift(positiveStep, negativeStep);
    }

    /** {@code 0.16997124254703522 / 2^(k-1)}, computed in double and rounded once to float. */
    public static float defaultNegativeStep(int bits) {
        QuantChecks.bits(bits, "twin GELU quantizer");
        return (float) (GELU_MIN_MAGNITUDE / (1 << (bits - 1)));
    }

    /** m ≥ 0 with positive == 2^m · negative exactly, else -1. */
    static int powerOfTwoShift(float positive, float negative) {
        for (int m = 0; m < 280; m++) { // covers every float ratio
            float p = Math.scalb(negative, m);
            if (p == positive) return m;
            if (p > positive) break;
        }
        return -1;
    }

    @Override
    public int bits() { return bits; }

    public float positiveStep() { return positiveStep; }

    public float negativeStep() { return negativeStep; }

    /** True when Δ_pos = 2^m · Δ_neg exactly for some m ≥ 0 (shift alignment possible). */
    public boolean isPowerOfTwo() { return shift >= 0; }

    /** m with Δ_pos = 2^m · Δ_neg, or -1 when {@link #isPowerOfTwo()} is false. */
    public int shift() { return shift; }

    /** L = 2^(k-1) - 1. */
    public int levels() { return (int) levels; }

    /** The positive-range flag bit, {@code 2^(k-1)}. */
    public int rangeFlag() { return flag; }

    /** Quantize-dequantize one finite value. */
    public float fakeQuant(float x) {
        float pos = Rounding.rintClamp(x / positiveStep, 0f, levels) * positiveStep;
        float neg = Rounding.rintClamp(x / negativeStep, minNegative, 0f) * negativeStep;
        return pos + neg;
    }

    /** Vectorised fake quant, bit-identical to {@link #fakeQuant(float)}; dst may be src at the same offset. */
    public void fakeQuant(String opId, float[] src, int srcOff, float[] dst, int dstOff, int len) {
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(dst, dstOff, len);
        QuantChecks.finiteBlocks(opId, src, srcOff, len, (b, n) -> fakeQuantFinite(src, srcOff + b, dst, dstOff + b, n));
    }

    private void fakeQuantFinite(float[] src, int srcOff, float[] dst, int dstOff, int len) {
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += FS.length()) {
            FloatVector x = FloatVector.fromArray(FS, src, srcOff + i);
            FloatVector pos = Rounding.rintClamp(x.div(positiveStep), 0f, levels).mul(positiveStep);
            FloatVector neg = Rounding.rintClamp(x.div(negativeStep), minNegative, 0f).mul(negativeStep);
            pos.add(neg).intoArray(dst, dstOff + i);
        }
        for (; i < len; i++) dst[dstOff + i] = fakeQuant(src[srcOff + i]);
    }

    /**
     * The fake quant's two factors as floats: {@code pos[i] = clamp(rint(x / Δpos), 0, L)} and
     * {@code neg[i] = clamp(rint(x / Δneg), -2^(k-1), 0)} (exact integers, zero is +0; at most one
     * is non-zero), so that {@code fakeQuant(x) = pos · Δpos + neg · Δneg} bit for bit.
     */
    public void codeValues(String opId, float[] src, int srcOff, float[] pos, float[] neg, int dstOff, int len) {
        QuantChecks.range(src, srcOff, len);
        QuantChecks.range(pos, dstOff, len);
        QuantChecks.range(neg, dstOff, len);
        QuantChecks.finiteBlocks(opId, src, srcOff, len, (b, n) -> codeValuesFinite(src, srcOff + b, pos, neg, dstOff + b, n));
    }

    private void codeValuesFinite(float[] src, int srcOff, float[] pos, float[] neg, int dstOff, int len) {
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += FS.length()) {
            FloatVector x = FloatVector.fromArray(FS, src, srcOff + i);
            Rounding.rintClamp(x.div(positiveStep), 0f, levels).add(0f).intoArray(pos, dstOff + i);
            Rounding.rintClamp(x.div(negativeStep), minNegative, 0f).add(0f).intoArray(neg, dstOff + i);
        }
        for (; i < len; i++) {
            float x = src[srcOff + i];
            pos[dstOff + i] = Rounding.rintClamp(x / positiveStep, 0f, levels) + 0f;
            neg[dstOff + i] = Rounding.rintClamp(x / negativeStep, minNegative, 0f) + 0f;
        }
    }

    /** The k-bit code of one finite value. */
    @Override
    public int encode(float x) {
        if (x > 0) {
            int magnitude = (int) Rounding.rintClamp(x / positiveStep, 0f, levels);
            return magnitude == 0 ? 0 : flag | magnitude;
        }
        return (int) Rounding.rintClamp(-x / negativeStep, 0f, levels);
    }

    /** The value of a code in [0, 2^k). */
    @Override
    public float decode(int code) {
        if (code < 0 || code >= 2 * flag)
            throw new IllegalArgumentException("twin GELU code " + code + " is outside 0.." + (2 * flag - 1));
        int magnitude = code & (flag - 1);
        if (magnitude == 0) return 0f;
        return (code & flag) != 0 ? magnitude * positiveStep : -magnitude * negativeStep;
    }

    @Override
    public String toString() {
        return "twin-gelu int" + bits + " pos " + positiveStep + " neg " + negativeStep
                + (isPowerOfTwo() ? " (2^" + shift + ")" : "");
    }
}
