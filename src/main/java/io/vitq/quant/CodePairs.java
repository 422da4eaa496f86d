package io.vitq.quant;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * A weight's table of code pairs (docs/LOWBIT.md section 1.3): at most 2^(2k) distinct pairs
 * {@code (a_i, b_i)} of signed 8-bit codes. Columns {@code 2m} and {@code 2m + 1} of a row are coded
 * together as the pair nearest {@code (w_2m / s, w_2m+1 / s)} in squared distance, so each weight
 * still costs k bits (a 2k-bit index per pair) while the pairs follow the joint distribution of
 * neighbouring weights. Immutable.
 */
public final class CodePairs {
    private final int bits;
    private final int[] first, second;
    private final int minCode, maxCode;   // over both codes of every pair
    private final Map<Integer, Integer> index = new HashMap<>();
    private final PairSearch search;

    /**
     * @param flat {@code a_0, b_0, a_1, b_1, ...}
     * @throws IllegalArgumentException naming the problem when {@code flat} is not a k-bit weight's table
     */
    public CodePairs(int bits, int[] flat) {
        String why = refused(bits, flat);
        if (why != null) throw new IllegalArgumentException(why);
        this.bits = bits;
        first = new int[flat.length / 2];
        second = new int[flat.length / 2];
        for (int i = 0; i < first.length; i++) {
            first[i] = flat[2 * i];
            second[i] = flat[2 * i + 1];
            if (index.putIfAbsent(key(first[i], second[i]), i) != null)
                throw new IllegalArgumentException("pair (" + first[i] + ", " + second[i] + ") is in the table twice");
        }
        minCode = Math.min(Arrays.stream(first).min().getAsInt(), Arrays.stream(second).min().getAsInt());
        maxCode = Math.max(Arrays.stream(first).max().getAsInt(), Arrays.stream(second).max().getAsInt());
        search = new PairSearch(Arrays.stream(first).asDoubleStream().toArray(), Arrays.stream(second).asDoubleStream().toArray());
    }

    private static String refused(int bits, int[] flat) {
        if (bits >= 8) return "pairs at " + bits + " bits (a table of pairs is for weights below 8 bits)";
        if (flat.length % 2 != 0) return "an odd number of codes (" + flat.length + ") for a table of pairs";
        long most = 1L << (2 * bits);
        if (flat.length < 4 || flat.length / 2 > most)
            return flat.length / 2 + " pairs for " + bits + "-bit weights (2 to " + most + ")";
        for (int c : flat) if (c < -128 || c > 127) return "code " + c + " of a pair outside the 8-bit grid [-128, 127]";
        return null;
    }

    private static int key(int a, int b) { return (a & 0xFF) << 8 | (b & 0xFF); }

    /** The weight's bits: each pair's index has twice as many. */
    public int bits() { return bits; }

    public int size() { return first.length; }

    /** The first code (the even column's) of pair {@code i}. */
    public int first(int i) { return first[i]; }

    /** The second code (the odd column's) of pair {@code i}. */
    public int second(int i) { return second[i]; }

    /** The index of pair {@code (a, b)}, or -1 when it is not in the table. */
    public int indexOf(int a, int b) {
        Integer i = index.get(key(a, b));
        return i == null ? -1 : i;
    }

    /** The index of the pair nearest {@code (v0, v1)} in squared distance (a tie to the lower index). */
    public int nearest(double v0, double v1) { return search.nearest(v0, v1); }

    /** The smallest code of any pair. */
    public int minCode() { return minCode; }

    /** The largest code of any pair. */
    public int maxCode() { return maxCode; }

    /** {@code a_0, b_0, a_1, b_1, ...}: the plan file's form. */
    public int[] flat() {
        int[] f = new int[2 * first.length];
        for (int i = 0; i < first.length; i++) {
            f[2 * i] = first[i];
            f[2 * i + 1] = second[i];
        }
        return f;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodePairs p && p.bits == bits && Arrays.equals(p.first, first) && Arrays.equals(p.second, second);
    }

    @Override
    public int hashCode() { return (bits * 31 + Arrays.hashCode(first)) * 31 + Arrays.hashCode(second); }

    @Override
    public String toString() { return first.length + " code pairs"; }
}
