package io.vitq.testutil;

/** Element-wise comparisons of float arrays, for tolerances relative to the largest value. */
public final class Diffs {
    private Diffs() {}

    /** {@code max_i |a_i - b_i|} (each difference taken in float, as the arrays hold them). */
    public static double maxDiff(float[] a, float[] b) {
        double m = 0;
        for (int i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
        return m;
    }

    /** {@code max_i |a_i|}. */
    public static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }
}
