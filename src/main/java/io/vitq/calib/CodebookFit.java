package io.vitq.calib;

import io.vitq.quant.CodebookOperand;

/**
 * The levels of a {@link CodebookOperand} for recorded activations: on the unsigned 8-bit grid that
 * spans {@code [min(x, 0), hi]}, the at most 2^k segments of grid codes, each with one level, that
 * minimise the squared error of the values (in grid steps). One-dimensional optimal quantization
 * with contiguous segments is solvable exactly: a dynamic program over the 256 grid codes
 * ({@code O(2^k · 256²)}), each segment's best integer level the rounded mean of its values. Values
 * are rounded to the grid first, as the quantizer does; the error is measured from their unrounded
 * position. Grid codes no calibration value reached go to the nearer neighbouring level.
 */
final class CodebookFit {
    private static final int N = CodebookOperand.GRID_CODES;

    private CodebookFit() {}

    /** The grid for {@code [lo, hi]} ({@code lo <= 0 < hi}) and its optimal 2^bits levels for {@code x}. */
    static CodebookOperand fit(String opId, float[] x, int off, int len, int bits, float lo, float hi) {
        if (!(lo <= 0f) || !(hi > 0f) || !Float.isFinite(hi - lo))
            throw new IllegalArgumentException(opId + ": codebook grid [" + lo + ", " + hi + "] must hold zero and be finite");
        float scale = (hi - lo) / (N - 1);
        int z = Math.clamp(Math.round(-lo / scale), 0, N - 1);
        double[] n = new double[N], s1 = new double[N], s2 = new double[N];
        for (int i = 0; i < len; i++) {
            float v = x[off + i];
            if (!Float.isFinite(v)) throw new IllegalArgumentException(opId + ": non-finite calibration input at " + i);
            double u = Math.min(Math.max(v / scale + z, 0.0), N - 1.0);   // grid units, clamped as the quantizer clamps
            int g = (int) Math.min(Math.max(Math.rint(v / scale) + z, 0), N - 1);
            n[g]++;
            s1[g] += u;
            s2[g] += u * u;
        }
        Segments seg = optimalSegments(n, s1, s2, 1 << bits);
        return new CodebookOperand(bits, scale, z, seg.levels(), seg.starts());
    }

    /** Segment i: bins {@code [starts[i], starts[i+1])} (the last to the end) take {@code levels[i]}. */
    record Segments(int[] levels, int[] starts) {}

    /**
     * The best at most {@code k} contiguous segments, each with an integer level inside it, for grid
     * bins with counts n and sums s1, s2 of the values (grid units): a dynamic program over segment
     * ends. A segment without values gets no level; its bins go to the nearer neighbouring level.
     */
    static Segments optimalSegments(double[] n, double[] s1, double[] s2, int k) {
        int m = n.length;
        double[] pn = new double[m + 1], p1 = new double[m + 1], p2 = new double[m + 1];
        for (int i = 0; i < m; i++) {
            pn[i + 1] = pn[i] + n[i];
            p1[i + 1] = p1[i] + s1[i];
            p2[i + 1] = p2[i] + s2[i];
        }
        k = Math.min(k, m);
        // cost[j]: best error of bins [0, j) with the segments so far; cut[c][j]: where the last segment starts
        double[] cost = new double[m + 1], next = new double[m + 1];
        int[][] cut = new int[k + 1][m + 1];
        java.util.Arrays.fill(cost, Double.POSITIVE_INFINITY);
        cost[0] = 0;
        for (int c = 1; c <= k; c++) {
            java.util.Arrays.fill(next, Double.POSITIVE_INFINITY);
            next[0] = 0;
            for (int j = 1; j <= m; j++) {
                double best = cost[j];   // fewer segments are allowed: bins [0, j) already covered
                int from = -1;
                for (int i = j - 1; i >= 0; i--) {
                    if (cost[i] == Double.POSITIVE_INFINITY) continue;
                    double e = cost[i] + segmentError(pn, p1, p2, i, j);
                    if (e < best) {
                        best = e;
                        from = i;
                    }
                }
                next[j] = best;
                cut[c][j] = from;
            }
            double[] t = cost;
            cost = next;
            next = t;
        }
        // walk back: segment c covers [cut[c][j], j); -1 means segment c was not used there
        java.util.ArrayDeque<int[]> used = new java.util.ArrayDeque<>();   // {first bin, end, level} of segments with values
        int j = m;
        for (int c = k; c >= 1 && j > 0; c--) {
            int i = cut[c][j];
            if (i < 0) continue;
            if (pn[j] - pn[i] > 0) used.addFirst(new int[] {i, j, level(pn, p1, i, j)});
            j = i;
        }
        if (used.isEmpty()) return new Segments(new int[] {0}, new int[] {0});
        int[][] u = used.toArray(new int[0][]);
        int[] levels = new int[u.length], starts = new int[u.length];
        for (int t = 0; t < u.length; t++) {
            levels[t] = u[t][2];
            // empty bins between two segments: the boundary at the levels' midpoint, kept within the gap
            if (t > 0) starts[t] = Math.clamp(Math.floorDiv(levels[t - 1] + levels[t], 2) + 1, u[t - 1][1], u[t][0]);
        }
        return new Segments(levels, starts);
    }

    /** The best integer level of bins [i, j): the rounded mean, kept inside the segment. */
    private static int level(double[] pn, double[] p1, int i, int j) {
        double cnt = pn[j] - pn[i];
        if (cnt == 0) return i;
        return (int) Math.min(Math.max(Math.rint((p1[j] - p1[i]) / cnt), i), j - 1);
    }

    /** The squared error of bins [i, j) at their best level. */
    private static double segmentError(double[] pn, double[] p1, double[] p2, int i, int j) {
        double cnt = pn[j] - pn[i];
        if (cnt == 0) return 0;
        double l = level(pn, p1, i, j), s = p1[j] - p1[i], q = p2[j] - p2[i];
        return Math.max(q - 2 * l * s + l * l * cnt, 0);
    }

    // ---- AdaLog's levels on the grid (for the ablation, docs/LOWBIT.md section 3.1) ----

    /** [ADALOG]'s shift of the GELU output: minus its minimum, so that the shifted values are positive. */
    static final float ADALOG_SHIFT = 0.16997124254703522f;
    /** [ADALOG]'s r: the base is {@code 2^(q / r)} with integer q. */
    static final int ADALOG_R = 37;

    /**
     * [ADALOG]'s post-GELU levels on the 8-bit grid: for the shifted values {@code y = x + 0.16997}, the
     * levels {@code A · 2^(-i q / 37)}, i = 0 .. 2^k - 2, and zero (AdaLog's values below its smallest
     * level), each grid code taking the level AdaLog's rounding {@code round(-log2(y / A) · 37 / q)}
     * gives its value (zero below {@code A · 2^(-(2^k - 1.5) q / 37)}). The grid spans
     * {@code [-0.16997, A - 0.16997]}. Levels that land on one grid code merge.
     */
    static CodebookOperand adalog(int bits, float top, int q) {
        float scale = top / (N - 1);
        int z = Math.clamp(Math.round(ADALOG_SHIFT / scale), 0, N - 1);
        int logLevels = (1 << bits) - 1;
        double ratio = (double) q / ADALOG_R, zeroBelow = top * Math.pow(2, -(logLevels - 0.5) * ratio);
        int zeroCode = Math.clamp(Math.round(-ADALOG_SHIFT / scale) + z, 0, N - 1);
        int[] table = new int[N];
        for (int g = 0; g < N; g++) {
            double y = (double) (g - z) * scale + ADALOG_SHIFT;
            if (y < zeroBelow) {
                table[g] = zeroCode;
                continue;
            }
            int i = (int) Math.min(Math.max(Math.rint(-Math.log(y / top) / Math.log(2) / ratio), 0), logLevels - 1);
            table[g] = Math.clamp(Math.round((float) ((top * Math.pow(2, -i * ratio) - ADALOG_SHIFT) / scale)) + z, 0, N - 1);
        }
        // runs of equal table entries are the segments; each run's level is its entry, kept inside the run
        java.util.List<int[]> runs = new java.util.ArrayList<>();   // {start, level}
        for (int g = 0; g < N; g++) {
            if (g == 0 || table[g] != table[g - 1]) runs.add(new int[] {g, table[g]});
        }
        int[] levels = new int[runs.size()], starts = new int[runs.size()];
        for (int r = 0; r < runs.size(); r++) {
            int end = r + 1 < runs.size() ? runs.get(r + 1)[0] : N;
            starts[r] = runs.get(r)[0];
            levels[r] = Math.clamp(runs.get(r)[1], starts[r], end - 1);
            if (r > 0 && levels[r] <= levels[r - 1]) levels[r] = levels[r - 1] + 1;   // merged neighbours stay increasing
        }
        return new CodebookOperand(bits, scale, z, levels, starts);
    }

    /**
     * AdaLog-levelled candidates for fc2's input: every reach {@code tops[j]} (of the shifted values)
     * with every base exponent q = 10, 14, .., 138 ([ADALOG]'s range, every fourth value), ranked by
     * the squared error of the calibration values; the best {@code keep} are returned, for the
     * method's metric to choose among ([vitq]: AdaLog ranks all candidates with its output
     * similarity, progressively).
     */
    static CodebookOperand[] adalogCandidates(String opId, float[] x, int off, int len, int bits, float[] tops, int keep) {
        record Scored(CodebookOperand c, double error) {}
        java.util.List<Scored> all = new java.util.ArrayList<>();
        for (float top : tops) {
            CodebookOperand grid = adalog(bits, top, 10);
            float s = grid.scale();
            int z = grid.zeroPoint();
            // per grid code: count and sums of the values' unclamped grid positions, so clipping counts
            double[] n = new double[N], s1 = new double[N], s2 = new double[N];
            for (int i = 0; i < len; i++) {
                float v = x[off + i];
                if (!Float.isFinite(v)) throw new IllegalArgumentException(opId + ": non-finite calibration input at " + i);
                double u = (double) v / s + z;
                int g = (int) Math.min(Math.max(Math.rint(v / s) + z, 0), N - 1);
                n[g]++;
                s1[g] += u;
                s2[g] += u * u;
            }
            for (int q = 10; q <= 138; q += 4) {
                CodebookOperand c = adalog(bits, top, q);
                int[] t = c.table();
                double e = 0;
                for (int g = 0; g < N; g++) e += s2[g] - 2.0 * t[g] * s1[g] + (double) t[g] * t[g] * n[g];
                all.add(new Scored(c, e * s * s));
            }
        }
        all.sort(java.util.Comparator.comparingDouble(Scored::error));
        return all.stream().limit(keep).map(Scored::c).toArray(CodebookOperand[]::new);
    }
}
