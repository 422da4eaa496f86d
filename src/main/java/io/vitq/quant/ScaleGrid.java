package io.vitq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Initial scales and candidate grids of the interval search (ALGORITHMS sections 3, 5.3, 5.4),
 * computed exactly as the reference does (float32 products of float32 values), so that the same
 * data gives the same candidates. Pure functions; the search itself lives in the calibration.
 */
public final class ScaleGrid {
    /**
     * Scale used when the calibration data of a tensor (or of one channel, block or head) is all
     * zeros, where max|x| / (2^(k-1) - 0.5) would be 0, an invalid scale. The smallest normal float
     * keeps every scale positive (also after the grid's multipliers, down to ~1e-40) and quantizes
     * the data seen, zeros, exactly; any non-zero input later saturates at a value ~1e-38, i.e.
     * the tensor is treated as the constant 0 the calibration saw.
     */
    public static final float ZERO_TENSOR_SCALE = Float.MIN_NORMAL;

    /** Number of softmax split candidates the reference searches: 2^0 .. 2^-19. */
    public static final int SOFTMAX_SPLIT_COUNT = 20;

    /** Default largest m of the power-of-two GELU grid 2^m · Δ_neg (ALGORITHMS 5.4: 0..15). */
    public static final int GELU_MAX_SHIFT = 15;

    private static final VectorSpecies<Float> FS = Rounding.FS;

    private ScaleGrid() {}

    /** {@code 2^(k-1) - 0.5} (127.5 at 8 bit, 31.5 at 6 bit). */
    public static float initDivisor(int bits) {
        QuantChecks.bits(bits, "init scale");
        return (1 << (bits - 1)) - 0.5f;
    }

    /**
     * Min-max initial scale {@code Δ0 = maxAbs / (2^(k-1) - 0.5)} (float division), or
     * {@link #ZERO_TENSOR_SCALE} when that is 0.
     *
     * @throws IllegalArgumentException naming the op when maxAbs is negative or not finite
     */
    public static float initScale(String opId, float maxAbs, int bits) {
        if (!(maxAbs >= 0) || maxAbs == Float.POSITIVE_INFINITY)
            throw new IllegalArgumentException(opId + ": max |x| must be finite and non-negative, got " + maxAbs);
        float scale = maxAbs / initDivisor(bits);
        return scale > 0 ? scale : ZERO_TENSOR_SCALE;
    }

    /**
     * Initial positive step of the twin GELU quantizer: the signed maximum (not max |x|) over
     * {@code 2^(k-1) - 0.5}; {@link #ZERO_TENSOR_SCALE} when no value is positive.
     */
    public static float geluPositiveInit(String opId, float signedMax, int bits) {
        if (Float.isNaN(signedMax) || signedMax == Float.POSITIVE_INFINITY)
            throw new IllegalArgumentException(opId + ": max x must be finite, got " + signedMax);
        return initScale(opId, Math.max(signedMax, 0f), bits);
    }

    /**
     * All n + 1 multipliers {@code mult[i] = α + i·(β - α)/n}, i = 0..n, evaluated in double and
     * rounded to float (the reference builds a float32 tensor from Python floats). Only the first n
     * are scored by the search: the reference builds n + 1 values but its loop stops at n - 1, so
     * {@code β} itself is never tried. {@link #candidates} returns the scored ones.
     *
     * @param alpha > 0 (a zero multiplier would make a zero scale)
     */
    public static float[] multipliers(double alpha, double beta, int n) {
        if (!(alpha > 0) || !(beta >= alpha) || Double.isInfinite(beta) || n < 1)
            throw new IllegalArgumentException("candidate grid needs 0 < alpha <= beta (finite) and n >= 1, got alpha "
                    + alpha + ", beta " + beta + ", n " + n);
        float[] m = new float[n + 1];
        for (int i = 0; i <= n; i++) m[i] = (float) (alpha + i * (beta - alpha) / n);
        return m;
    }

    /** The n scored candidates {@code mult[i] · init} (float product), i = 0..n-1. */
    public static float[] candidates(float init, double alpha, double beta, int n) {
        QuantChecks.scale("candidate grid init", init);
        float[] m = multipliers(alpha, beta, n);
        float[] c = new float[n];
        for (int i = 0; i < n; i++) {
            c[i] = m[i] * init;
            if (!QuantChecks.isValidScale(c[i]))
                throw new IllegalArgumentException("candidate " + i + " = " + m[i] + " * " + init + " is not a valid scale");
        }
        return c;
    }

    /** Softmax split candidates 2^0, 2^-1, .., 2^-(count-1) (the reference: count 20). */
    public static float[] softmaxSplits(int count) {
        if (count < 1 || count > TwinSoftmaxQuantizer.MAX_SPLIT_SHIFT + 1)
            throw new IllegalArgumentException("split count must be in 1.." + (TwinSoftmaxQuantizer.MAX_SPLIT_SHIFT + 1) + ", got " + count);
        float[] s = new float[count];
        for (int m = 0; m < count; m++) s[m] = Math.scalb(1f, -m);
        return s;
    }

    /** The reference's 20 softmax splits. */
    public static float[] softmaxSplits() { return softmaxSplits(SOFTMAX_SPLIT_COUNT); }

    /** Power-of-two GELU positive steps {@code 2^m · Δ_neg(bits)}, m = 0..maxShift (exact). */
    public static float[] geluPowerOfTwoSteps(int bits, int maxShift) {
        if (maxShift < 0 || maxShift > 60) throw new IllegalArgumentException("maxShift must be in 0..60, got " + maxShift);
        float neg = TwinGeluQuantizer.defaultNegativeStep(bits);
        float[] s = new float[maxShift + 1];
        for (int m = 0; m <= maxShift; m++) s[m] = Math.scalb(neg, m);
        return s;
    }

    /**
     * max |x| over a range (0 for an empty range).
     *
     * @throws IllegalArgumentException naming the op when the range holds NaN or an infinity
     */
    public static float maxAbs(String opId, float[] x, int off, int len) {
        QuantChecks.range(x, off, len);
        int i = 0, upper = FS.loopBound(len);
        // max follows Math.max: a NaN lane propagates, and an infinity is its own maximum
        FloatVector acc = FloatVector.zero(FS);
        for (; i < upper; i += FS.length()) acc = acc.max(FloatVector.fromArray(FS, x, off + i).abs());
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < len; i++) m = Math.max(m, Math.abs(x[off + i]));
        if (!Float.isFinite(m)) throw QuantChecks.nonFinite(opId, x, off, len);
        return m;
    }

    /**
     * Signed max of a range (-infinity for an empty range).
     *
     * @throws IllegalArgumentException naming the op when the range holds NaN or an infinity
     */
    public static float max(String opId, float[] x, int off, int len) {
        QuantChecks.range(x, off, len);
        float m = Float.NEGATIVE_INFINITY, bad = 0f;
        for (int i = 0; i < len; i++) {
            float v = x[off + i];
            bad += v * 0f;
            m = Math.max(m, v);
        }
        if (Float.isNaN(bad)) throw QuantChecks.nonFinite(opId, x, off, len);
        return m;
    }

    /**
     * Signed min of a range (+infinity for an empty range).
     *
     * @throws IllegalArgumentException naming the op when the range holds NaN or an infinity
     */
    public static float min(String opId, float[] x, int off, int len) {
        QuantChecks.range(x, off, len);
        float m = Float.POSITIVE_INFINITY, bad = 0f;
        for (int i = 0; i < len; i++) {
            float v = x[off + i];
            bad += v * 0f;
            m = Math.min(m, v);
        }
        if (Float.isNaN(bad)) throw QuantChecks.nonFinite(opId, x, off, len);
        return m;
    }
}
