package io.vitq.calib.mp;

import java.util.Locale;

/**
 * Model size the way VT-PTQ's tables count it: every parameter of the model times its bit width
 * divided by 8, in decimal megabytes (1 MB = 10^6 bytes). ALGORITHMS.md 9.6 / 10 give DeiT-B as
 * 344 MB at FP32, 86.0 MB at 8 bits and 64.5 MB at 6 bits: that is the published parameter count
 * 86M x 4 / 1 / 0.75 bytes over 10^6 (in binary MB, 2^20 bytes, the same count gives 328 / 82.0 /
 * 61.5). vitq counts the model's exact parameters (DeiT-B: 86,567,656), so its DeiT-B figures are
 * 346.27 / 86.57 / 64.93 MB, 0.66 % above the paper's rounded ones.
 *
 * <p>Which parameters count at which width: a unit's parameters (weights and biases of its
 * Linears) at the unit's bits; every other parameter (patch embedding, head, Swin's patch merging,
 * but also norms, class token, position embedding, Swin's relative position bias tables and the
 * biases, which vitq keeps in float) at the base bits. That is the paper's "all parameters x
 * bits / 8"; it is a nominal size, not the bytes of a saved file (bits above 8 are stored as int16
 * codes, float parameters as float).
 *
 * <p>Sizes are kept in bits as {@code long}: parameters x bits is an integer for every width,
 * bytes would not be for odd widths.
 */
public final class ModelSize {
    /** Decimal megabyte, as the paper's tables. */
    public static final double BYTES_PER_MB = 1e6;

    private ModelSize() {}

    /** Bits of a model with unit i at {@code unitBits[i]} and every other parameter at {@code baseBits}. */
    public static long bits(UnitPlan plan, int[] unitBits, int baseBits) {
        if (unitBits.length != plan.units().size()) {
            throw new IllegalArgumentException(plan.model() + " has " + plan.units().size() + " units, got "
                    + unitBits.length + " bit widths");
        }
        long total = plan.otherParameters() * baseBits;
        for (int i = 0; i < unitBits.length; i++) total += plan.units().get(i).parameters() * unitBits[i];
        return total;
    }

    /** Bits of {@code parameters} parameters all at {@code bits} (32 for the float model). */
    public static long uniformBits(long parameters, int bits) {
        return Math.multiplyExact(parameters, bits);
    }

    /** Bits to MB (10^6 bytes). */
    public static double mb(long bits) {
        return bits / 8.0 / BYTES_PER_MB;
    }

    /** MB to bits, rounded down (a budget never grows by the conversion). */
    public static long bitsOfMb(double mb) {
        if (!(mb > 0) || Double.isInfinite(mb)) throw new IllegalArgumentException("model size must be a positive number of MB, got " + mb);
        return (long) Math.floor(mb * BYTES_PER_MB * 8);
    }

    /** "86.57 MB". */
    public static String format(long bits) {
        return String.format(Locale.ROOT, "%.2f MB", mb(bits));
    }
}
