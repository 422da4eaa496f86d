package io.vitq.quant;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float activations to the integer operands of the kernels, vectorised, with exactly the float
 * operations of the quantizers in {@code io.vitq.quant} ({@code x / scale} as a float division,
 * round half to even, clamp), so that {@code code * step} equals the fake-quant value bit for bit.
 *
 * <ul>
 *   <li>uniform: {@code clamp(rint(x * pre / scale), lo, hi)} ({@code pre} is Swin's q scale, else 1);</li>
 *   <li>twin GELU: {@code pos = clamp(rint(x / Δpos), 0, L)}, {@code neg = clamp(rint(x / Δneg), negMin, 0)}
 *       (at most one is non-zero). In the uint8 layout of ALGORITHMS section 6 this is the flag
 *       {@code pos > 0} and the magnitude {@code pos} or {@code -neg}. Shift form: one operand
 *       {@code pos << m + neg} in units of Δneg; split form: the two codes separately;</li>
 *   <li>twin softmax (clean): {@code x < s ? r1 = clamp(rint(x / Δ_R1), 0, L) : r2 = clamp(rint(x * L), 0, L)}
 *       (layout: flag = R2, magnitude r1 or r2). Shift form: {@code r1} or {@code r2 << m} in units of
 *       Δ_R1; split form: r1 and r2 separately.</li>
 * </ul>
 * The shifted values are formed in float ({@code r * 2^m} is exact for r below 2^15 and m below
 * 2^8) and converted once. Every method returns false when the input holds NaN or an infinity
 * (the caller reports it with the op id): {@code chk} sums {@code x * 0}, which is NaN exactly for
 * a non-finite x.
 *
 * <p>The vector loops spell out round-and-clamp ({@code max, min, +MAGIC, -MAGIC}) and the narrowing
 * store instead of calling helpers: inlined into a large caller (the integer executor's tile),
 * C2 ran out of its inlining budget and called the helpers out of line, boxing a vector per call
 * (perf: 4 % of ViT-Ti's integer forward in the helpers alone; ENGINE_NOTES, pitfall 4).
 */
public final class ActivationCodes {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    private static final VectorSpecies<Byte> B128 = ByteVector.SPECIES_128;
    private static final float MAGIC = 12582912f; // 1.5 * 2^23: adding and subtracting it rounds half to even

    private ActivationCodes() {}

    static float rintClamp(float y, float lo, float hi) {
        return Math.min(Math.max((float) Math.rint(y), lo), hi);
    }

    // ---- uniform ----

    static boolean uniform(float[] x, int off, int len, float pre, float scale, float lo, float hi, byte[] dst, int dOff) {
        FloatVector chk = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            chk = chk.add(v.mul(0f));
            FloatVector c = v.mul(pre).div(scale).max(lo).min(hi).add(MAGIC).sub(MAGIC);
            ByteVector.zero(B128).add(c.convertShape(VectorOperators.F2B, B128, 0)).intoArray(dst, dOff + i);
        }
        float t = 0f;
        for (; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            dst[dOff + i] = (byte) rintClamp(v * pre / scale, lo, hi);
        }
        return !Float.isNaN(chk.reduceLanes(VectorOperators.ADD) + t);
    }

    static boolean uniform(float[] x, int off, int len, float pre, float scale, float lo, float hi, int[] dst, int dOff) {
        FloatVector chk = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            chk = chk.add(v.mul(0f));
            FloatVector c = v.mul(pre).div(scale).max(lo).min(hi).add(MAGIC).sub(MAGIC);
            IntVector.zero(IS).add(c.convertShape(VectorOperators.F2I, IS, 0)).intoArray(dst, dOff + i);
        }
        float t = 0f;
        for (; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            dst[dOff + i] = (int) rintClamp(v * pre / scale, lo, hi);
        }
        return !Float.isNaN(chk.reduceLanes(VectorOperators.ADD) + t);
    }

    // ---- twin GELU ----

    /** Shift form: {@code pos * 2^m + neg}, in units of Δneg. */
    static boolean geluShift(float[] x, int off, int len, float posStep, float negStep, float levels, float negMin,
                             int shift, int[] dst, int dOff) {
        float mult = Math.scalb(1f, shift);
        FloatVector chk = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            chk = chk.add(v.mul(0f));
            FloatVector pos = v.div(posStep).max(0f).min(levels).add(MAGIC).sub(MAGIC);
            FloatVector neg = v.div(negStep).max(negMin).min(0f).add(MAGIC).sub(MAGIC);
            IntVector.zero(IS).add(pos.mul(mult).add(neg).convertShape(VectorOperators.F2I, IS, 0)).intoArray(dst, dOff + i);
        }
        float t = 0f;
        for (; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            dst[dOff + i] = ((int) rintClamp(v / posStep, 0f, levels) << shift) + (int) rintClamp(v / negStep, negMin, 0f);
        }
        return !Float.isNaN(chk.reduceLanes(VectorOperators.ADD) + t);
    }

    /** Split form: the positive-range code and the negative-range code (one of them 0). */
    static boolean geluSplit(float[] x, int off, int len, float posStep, float negStep, float levels, float negMin,
                             byte[] pos, byte[] neg, int dOff) {
        FloatVector chk = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            chk = chk.add(v.mul(0f));
            FloatVector p = v.div(posStep).max(0f).min(levels).add(MAGIC).sub(MAGIC);
            ByteVector.zero(B128).add(p.convertShape(VectorOperators.F2B, B128, 0)).intoArray(pos, dOff + i);
            FloatVector n = v.div(negStep).max(negMin).min(0f).add(MAGIC).sub(MAGIC);
            ByteVector.zero(B128).add(n.convertShape(VectorOperators.F2B, B128, 0)).intoArray(neg, dOff + i);
        }
        float t = 0f;
        for (; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            pos[dOff + i] = (byte) rintClamp(v / posStep, 0f, levels);
            neg[dOff + i] = (byte) rintClamp(v / negStep, negMin, 0f);
        }
        return !Float.isNaN(chk.reduceLanes(VectorOperators.ADD) + t);
    }

    /** Split form as ints (codes wider than 8 bits). */
    static boolean geluSplit(float[] x, int off, int len, float posStep, float negStep, float levels, float negMin,
                             int[] pos, int[] neg, int dOff) {
        float t = 0f;
        for (int i = 0; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            pos[dOff + i] = (int) rintClamp(v / posStep, 0f, levels);
            neg[dOff + i] = (int) rintClamp(v / negStep, negMin, 0f);
        }
        return !Float.isNaN(t);
    }

    // ---- twin softmax (clean) ----

    /** Shift form: {@code x < s ? r1 : r2 * 2^m}, in units of Δ_R1. */
    static boolean softmaxShift(float[] x, int off, int len, float split, float smallStep, float levels, int shift,
                                int[] dst, int dOff) {
        float mult = Math.scalb(1f, shift);
        FloatVector chk = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            chk = chk.add(v.mul(0f));
            FloatVector r1 = v.div(smallStep).max(0f).min(levels).add(MAGIC).sub(MAGIC);
            FloatVector r2 = v.mul(levels).max(0f).min(levels).add(MAGIC).sub(MAGIC);
            VectorMask<Float> small = v.lt(split);
            FloatVector c = r2.mul(mult).blend(r1, small);
            IntVector.zero(IS).add(c.convertShape(VectorOperators.F2I, IS, 0)).intoArray(dst, dOff + i);
        }
        float t = 0f;
        for (; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            dst[dOff + i] = v < split ? (int) rintClamp(v / smallStep, 0f, levels)
                    : (int) rintClamp(v * levels, 0f, levels) << shift;
        }
        return !Float.isNaN(chk.reduceLanes(VectorOperators.ADD) + t);
    }

    /** Split form: the R1 code and the R2 code (one of them 0). */
    static boolean softmaxSplit(float[] x, int off, int len, float split, float smallStep, float levels,
                                byte[] r1, byte[] r2, int dOff) {
        FloatVector chk = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(len);
        for (; i < upper; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            chk = chk.add(v.mul(0f));
            VectorMask<Float> small = v.lt(split);
            FloatVector zero = FloatVector.zero(FS);
            FloatVector c1 = v.div(smallStep).max(0f).min(levels).add(MAGIC).sub(MAGIC);
            FloatVector c2 = v.mul(levels).max(0f).min(levels).add(MAGIC).sub(MAGIC);
            ByteVector.zero(B128).add(zero.blend(c1, small).convertShape(VectorOperators.F2B, B128, 0)).intoArray(r1, dOff + i);
            ByteVector.zero(B128).add(c2.blend(zero, small).convertShape(VectorOperators.F2B, B128, 0)).intoArray(r2, dOff + i);
        }
        float t = 0f;
        for (; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            boolean s = v < split;
            r1[dOff + i] = s ? (byte) rintClamp(v / smallStep, 0f, levels) : 0;
            r2[dOff + i] = s ? 0 : (byte) rintClamp(v * levels, 0f, levels);
        }
        return !Float.isNaN(chk.reduceLanes(VectorOperators.ADD) + t);
    }

    /** Split form as ints (codes wider than 8 bits). */
    static boolean softmaxSplit(float[] x, int off, int len, float split, float smallStep, float levels,
                                int[] r1, int[] r2, int dOff) {
        float t = 0f;
        for (int i = 0; i < len; i++) {
            float v = x[off + i];
            t += v * 0f;
            boolean s = v < split;
            r1[dOff + i] = s ? (int) rintClamp(v / smallStep, 0f, levels) : 0;
            r2[dOff + i] = s ? 0 : (int) rintClamp(v * levels, 0f, levels);
        }
        return !Float.isNaN(t);
    }

    /** The first non-finite value of a range, for the error message. */
    public static String describeNonFinite(float[] x, int off, int len) {
        for (int i = 0; i < len; i++)
            if (!Float.isFinite(x[off + i])) return x[off + i] + " at index " + i;
        return "a non-finite value";
    }
}
