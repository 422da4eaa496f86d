package io.vitq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The code of a value under a cascade of non-increasing thresholds {@code T_0 >= T_1 >= ... >= 0}
 * (the number of thresholds at or above it) by table lookup instead of one comparison per
 * threshold: for a positive float y the bit pattern grows with the value, so its top bits
 * ({@code bits >>> shift}, the exponent and a few mantissa bits) name a bucket of values, narrow
 * enough to hold at most one threshold. Per bucket the table holds that threshold and the values of
 * the codes on either side of it, so one comparison settles a value: three gathers per vector,
 * whatever the number of thresholds. Values at or below zero take the last code (every threshold
 * is {@code >= 0}); tiny positive values (below 2^-100, where denormal thresholds crowd together)
 * take the plain count. Same codes as the cascade, bit for bit ({@code ThresholdTableTest}).
 *
 * <p>Used where the cascade is long: a logarithmic quantizer at 8 bits has 255 thresholds.
 */
final class ThresholdTable {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /** Buckets below this value's are not tabulated: their values take the plain count. */
    private static final float TABLE_FLOOR = 0x1p-100f;
    private static final int FLOOR_BITS = Float.floatToRawIntBits(TABLE_FLOOR);

    private final float[] thresholds;
    private final float[] values;
    private final int shift, first, last;
    /**
     * Per bucket {@code first .. last}: the one threshold inside it ({@code -1} when none: never at or
     * above a positive value), the value of the code of the bucket's largest value, and the value of
     * the next code (for values at or below the inner threshold).
     */
    private final float[] inside, valueAbove, valueBelow;
    /** Some bucket holds two thresholds or more: no table (the caller compares them all). */
    private final boolean dense;
    /**
     * Every threshold at or above the table's floor: then a positive value below the floor has
     * every threshold above it, the last code, as zeros and negatives do (softmax probabilities
     * reach such values), and needs no plain count.
     */
    private final boolean floorBelowAll;

    private ThresholdTable(float[] thresholds, float[] values, int shift) {
        this.thresholds = thresholds;
        this.values = values;
        this.shift = shift;
        int n = thresholds.length;
        int floorBits = Float.floatToRawIntBits(TABLE_FLOOR);
        // from the bucket of the floor (or of the smallest threshold) to one past the largest threshold's
        int lowest = Math.max(floorBits, Float.floatToRawIntBits(Math.max(thresholds[n - 1], Float.MIN_VALUE)));
        first = lowest >>> shift;
        last = (Float.floatToRawIntBits(Math.max(thresholds[0], Float.MIN_VALUE)) >>> shift) + 1;
        int buckets = last - first + 1;
        inside = new float[buckets];
        valueAbove = new float[buckets];
        valueBelow = new float[buckets];
        int most = 0;
        for (int b = first; b <= last; b++) {
            float hi = Float.intBitsToFloat(((b + 1) << shift) - 1), lo = Float.intBitsToFloat(Math.max(b << shift, 1));
            int c = count(hi, thresholds);
            most = Math.max(most, count(lo, thresholds) - c);
            inside[b - first] = c < n ? thresholds[c] : -1f;
            valueAbove[b - first] = values[c];
            valueBelow[b - first] = values[Math.min(c + 1, n)];
        }
        dense = most > 1;
        floorBelowAll = thresholds[n - 1] >= TABLE_FLOOR;
    }

    /**
     * The table for {@code thresholds} (non-increasing, each {@code >= 0}) and the value of each code
     * ({@code values.length = thresholds.length + 1}), or null when the thresholds are too dense for
     * a bucket to hold at most one of them (the caller then compares them all).
     */
    static ThresholdTable of(float[] thresholds, float[] values) {
        if (thresholds.length == 0 || values.length != thresholds.length + 1) throw new IllegalArgumentException("thresholds and values");
        // mantissa bits to keep so that a bucket (relative width 2^-m) is narrower than the closest
        // ratio of neighbouring normal thresholds
        double ratio = Double.POSITIVE_INFINITY;
        for (int i = 1; i < thresholds.length; i++)
            if (thresholds[i] >= TABLE_FLOOR) ratio = Math.min(ratio, (double) thresholds[i - 1] / thresholds[i]);
        int m = ratio == Double.POSITIVE_INFINITY ? 0 : (int) Math.ceil(-Math.log(ratio - 1) / Math.log(2)) + 1;
        if (m > 12) return null;
        ThresholdTable t = new ThresholdTable(thresholds, values, 23 - Math.max(m, 0));
        return t.dense ? null : t;
    }

    /** The number of thresholds at or above y. */
    static int count(float y, float[] thr) {
        int lo = 0, hi = thr.length; // thr[i] >= y for i < lo; thr[i] < y for i >= hi
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (y <= thr[mid]) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /**
     * {@code dst[dOff + i] = values[code(src[off + i] + shift)]} for i in {@code [0, n)}, the values
     * finite (the caller checks). A tail shorter than a vector runs through the same vector code on
     * a padded copy (softmax rows of 197 values leave 5).
     */
    void apply(float[] src, int off, float shiftBy, float[] dst, int dOff, int n) {
        int lanes = FS.length();
        int[] index = new int[lanes];
        int i = 0, upper = FS.loopBound(n);
        for (; i < upper; i += lanes) vector(src, off + i, shiftBy, dst, dOff + i, index);
        if (i < n) {
            float[] in = new float[lanes], out = new float[lanes];
            System.arraycopy(src, off + i, in, 0, n - i);
            vector(in, 0, shiftBy, out, 0, index);
            System.arraycopy(out, 0, dst, dOff + i, n - i);
        }
    }

    /** One vector of {@link #apply}: {@code dst[d + j] = values[code(src[s + j] + shift)]}, j < the lane count. */
    private void vector(float[] src, int s, float shiftBy, float[] dst, int d, int[] index) {
        int lanes = FS.length();
        FloatVector y = FloatVector.fromArray(FS, src, s).add(shiftBy);
        IntVector bits = y.reinterpretAsInts();
        // as ints, negative floats are below the floor, and so is zero
        VectorMask<Integer> low = bits.compare(VectorOperators.LT, FLOOR_BITS);
        // a positive value under the table's floor with a threshold below it too: the plain count for the whole vector (rare)
        if (!floorBelowAll && low.anyTrue() && y.compare(VectorOperators.GT, 0f).and(low.cast(FS)).anyTrue()) {
            for (int j = 0; j < lanes; j++) dst[d + j] = values[count(src[s + j] + shiftBy, thresholds)];
            return;
        }
        // the bucket of each lane, clamped into the table (past its top: code 0; zeros and negatives blended below)
        bits.lanewise(VectorOperators.LSHR, shift).max(first).min(last).sub(first).intoArray(index, 0);
        FloatVector inner = FloatVector.fromArray(FS, inside, 0, index, 0);
        FloatVector v = FloatVector.fromArray(FS, valueAbove, 0, index, 0)
                .blend(FloatVector.fromArray(FS, valueBelow, 0, index, 0), y.compare(VectorOperators.LE, inner));
        v.blend(FloatVector.broadcast(FS, values[thresholds.length]), low.cast(FS)).intoArray(dst, d);
    }
}
