package io.vitq.quant;

/**
 * The point of a fixed set of 2-D points {@code (x_i, y_i)} nearest a query, in squared distance
 * {@code (v0 - x_i)^2 + (v1 - y_i)^2} computed in double, a tie to the lower index: the same answer as
 * a scan of all the points, found by walking the points sorted by x outwards from v0 and stopping each
 * way once {@code (v0 - x)^2} alone exceeds the best distance (so every point at the minimum is seen).
 * GPTQ's pairwise rounding asks it once per pair of weights per candidate.
 */
public final class PairSearch {
    private final double[] xs, ys;    // sorted by x, then by index
    private final int[] index;        // the points' own indices
    private final double[] x, y;      // by their own indices

    public PairSearch(double[] x, double[] y) {
        int n = x.length;
        if (n == 0 || y.length != n) throw new IllegalArgumentException("pair search: " + n + " x and " + y.length + " y");
        this.x = x.clone();
        this.y = y.clone();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> x[a] != x[b] ? Double.compare(x[a], x[b]) : Integer.compare(a, b));
        xs = new double[n];
        ys = new double[n];
        index = new int[n];
        for (int k = 0; k < n; k++) {
            xs[k] = x[order[k]];
            ys[k] = y[order[k]];
            index[k] = order[k];
        }
    }

    /** The index of the point nearest {@code (v0, v1)} (a tie to the lower index). */
    public int nearest(double v0, double v1) { return nearest(v0, v1, -1); }

    /**
     * The same, starting from point {@code hint}'s distance (-1: none) as the bound, which stops the walk
     * sooner when the hint is near (k-means' assignment of the round before); the answer does not depend on it.
     */
    public int nearest(double v0, double v1, int hint) {
        int lo = 0, hi = xs.length;   // the first position with x >= v0
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (xs[mid] < v0) lo = mid + 1; else hi = mid;
        }
        int best = hint;
        double bestDistance = Double.POSITIVE_INFINITY;
        if (hint >= 0) {
            double a = v0 - x[hint], b = v1 - y[hint];
            bestDistance = a * a + b * b;
        }
        for (int step = 1; step >= -1; step -= 2)   // rightwards from lo, then leftwards from lo - 1
            for (int k = step > 0 ? lo : lo - 1; k >= 0 && k < xs.length; k += step) {
                double a = v0 - xs[k], aa = a * a;
                if (aa > bestDistance) break;   // the points further on differ more in x alone
                double b = v1 - ys[k], d = aa + b * b;
                if (d < bestDistance || d == bestDistance && index[k] < best) {
                    bestDistance = d;
                    best = index[k];
                }
            }
        return Math.max(best, 0);   // (a NaN query is nearest nothing: the scan's answer, 0)
    }
}
