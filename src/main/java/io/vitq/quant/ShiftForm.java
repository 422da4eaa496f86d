package io.vitq.quant;

/**
 * When a twin operand can enter a product in the <i>shift form</i>: its codes aligned to the
 * finer range's unit by a left shift of m ({@code Δ_coarse = 2^m Δ_fine}) and summed with the
 * other operand's codes in one int32 accumulation. The bound is static: {@code K · max|a| · max|b|
 * <= 2^31 - 1}. Otherwise a twin operand takes the <i>split form</i>, one accumulation per range.
 *
 * <p>The integer runtime and the code-product fake quant ({@link FakeQuantExecutor.Products#CODES})
 * both take their form from here, so that they round alike.
 */
public final class ShiftForm {
    private ShiftForm() {}

    /**
     * True when a sum of {@code k} products of values bounded by {@code maxAbsA} and
     * {@code maxAbsB} in magnitude cannot leave the int32 range: {@code k * maxAbsA * maxAbsB <= 2^31 - 1}
     * (computed without overflow).
     */
    public static boolean fitsInt32(long k, long maxAbsA, long maxAbsB) {
        if (k < 0 || maxAbsA < 0 || maxAbsB < 0) throw new IllegalArgumentException("negative bound");
        if (k == 0 || maxAbsA == 0 || maxAbsB == 0) return true;
        // k * a * b <= MAX  <=>  k <= MAX / (a * b), with a * b computed only when it cannot overflow
        if (maxAbsA > Integer.MAX_VALUE || maxAbsB > Integer.MAX_VALUE) return false;
        long ab = maxAbsA * maxAbsB;
        return k <= Integer.MAX_VALUE / ab;
    }

    /**
     * max |operand| of twin GELU's shift form {@code flag ? mag << m : -mag}: the positive side
     * {@code L · 2^m} or the negative side's largest magnitude {@code negMagnitude} (2^(k-1) as
     * the fake quant clamps, L in the uint8 layout); {@link Long#MAX_VALUE} without the
     * power-of-two option.
     */
    public static long geluOperandBound(TwinGeluQuantizer q, long negMagnitude) {
        if (!q.isPowerOfTwo() || q.shift() >= 31) return Long.MAX_VALUE;
        return Math.max((long) q.levels() << q.shift(), negMagnitude);
    }

    /** max |operand| of twin softmax's shift form {@code r1 + (r2 << m)}: {@code L · 2^m}. */
    public static long softmaxOperandBound(TwinSoftmaxQuantizer q) {
        return q.shift() >= 31 ? Long.MAX_VALUE : (long) q.levels() << q.shift();
    }
}
