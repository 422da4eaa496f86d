package io.vitq.quant;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Round half to even followed by a clamp to integer bounds, {@code clamp(rint(y), lo, hi)}, in a
 * scalar and a vector form that agree bit for bit (including the sign of zero).
 *
 * <p>The vector form clamps first and rounds second: for integer bounds the two orders give the
 * same result. Rounding adds and subtracts 1.5·2^23: after the clamp |y| ≤ 2^15, so the sum lies
 * in [2^23, 2^24) where the float spacing is 1 and the hardware's round-to-nearest-even does the
 * rounding. That form loses the sign of a zero result ({@code rint(-0.3) = -0.0}), so the sign of
 * the clamped value is copied back.
 */
final class Rounding {
    static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    private static final float MAGIC = 12582912f; // 1.5 * 2^23
    private static final int SIGN_BIT = 0x80000000;

    private Rounding() {}

    static float rintClamp(float y, float lo, float hi) {
        return Math.min(Math.max((float) Math.rint(y), lo), hi);
    }

    /** Same as {@link #rintClamp(float, float, float)} lane by lane; lo and hi must be integers in [-2^15, 2^15]. */
    static FloatVector rintClamp(FloatVector y, float lo, float hi) {
        FloatVector c = y.max(lo).min(hi);
        FloatVector r = c.add(MAGIC).sub(MAGIC);
        IntVector sign = c.viewAsIntegralLanes().and(SIGN_BIT);
        return r.viewAsIntegralLanes().or(sign).viewAsFloatingLanes();
    }
}
