package io.vitq.calib;

import io.vitq.quant.CodebookOperand;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The dynamic program against every level set of a small grid, and the fit's grid. */
class CodebookFitTest {

    /** One bin's squared error at level l. */
    static double binError(int g, int l, double[] n, double[] s1, double[] s2) {
        return s2[g] - 2.0 * l * s1[g] + (double) l * l * n[g];
    }

    /** Squared error of the segments: bin g takes the level of the last segment starting at or below it. */
    static double error(int[] levels, int[] starts, double[] n, double[] s1, double[] s2) {
        double e = 0;
        for (int g = 0; g < n.length; g++) {
            int l = levels[0];
            for (int i = 0; i < levels.length; i++) if (starts[i] <= g) l = levels[i];
            e += binError(g, l, n, s1, s2);
        }
        return e;
    }

    /**
     * The minimum over every set of 1 to k levels of the m bins, each with its best boundaries:
     * bins up to the first level take it, bins from the last level on take that, and between two
     * neighbouring levels every boundary is tried.
     */
    static double bruteForce(int m, int k, double[] n, double[] s1, double[] s2) {
        double best = Double.POSITIVE_INFINITY;
        for (int mask = 1; mask < 1 << m; mask++) {
            if (Integer.bitCount(mask) > k) continue;
            int[] lv = new int[Integer.bitCount(mask)];
            for (int g = 0, j = 0; g < m; g++) if ((mask >> g & 1) != 0) lv[j++] = g;
            double e = 0;
            for (int g = 0; g <= lv[0]; g++) e += binError(g, lv[0], n, s1, s2);
            for (int g = lv[lv.length - 1] + 1; g < m; g++) e += binError(g, lv[lv.length - 1], n, s1, s2);
            for (int t = 1; t < lv.length; t++) {
                double gap = Double.POSITIVE_INFINITY;
                for (int start = lv[t - 1] + 1; start <= lv[t]; start++) {   // bins [start, lv[t]] take the upper level
                    double eg = 0;
                    for (int g = lv[t - 1] + 1; g <= lv[t]; g++) eg += binError(g, g < start ? lv[t - 1] : lv[t], n, s1, s2);
                    gap = Math.min(gap, eg);
                }
                e += gap;
            }
            best = Math.min(best, e);
        }
        return best;
    }

    @Test
    void dynamicProgramFindsTheBestSegments() {
        SplittableRandom r = new SplittableRandom(42);
        int m = 13;
        for (int trial = 0; trial < 60; trial++) {
            double[] n = new double[m], s1 = new double[m], s2 = new double[m];
            for (int g = 0; g < m; g++) {
                int count = r.nextInt(4) == 0 ? 0 : r.nextInt(1, 40);   // some empty bins
                for (int i = 0; i < count; i++) {
                    double u = g + r.nextDouble(-0.5, 0.5);
                    n[g]++;
                    s1[g] += u;
                    s2[g] += u * u;
                }
            }
            if (java.util.Arrays.stream(n).sum() == 0) n[3] = s1[3] = 1;
            for (int k : new int[] {1, 2, 3, 5}) {
                CodebookFit.Segments seg = CodebookFit.optimalSegments(n, s1, s2, k);
                int[] levels = seg.levels();
                assertTrue(levels.length >= 1 && levels.length <= k, "level count " + levels.length);
                new CodebookOperand(8, 1f, 0, levels, seg.starts());   // a valid quantizer: levels inside their segments
                double dp = error(levels, seg.starts(), n, s1, s2), brute = bruteForce(m, k, n, s1, s2);
                assertEquals(brute, dp, 1e-9 * Math.max(1, brute), "trial " + trial + " k " + k + " levels "
                        + java.util.Arrays.toString(levels) + " starts " + java.util.Arrays.toString(seg.starts()));
            }
        }
    }

    @Test
    void fewDistinctValuesAreKeptExactly() {
        // five distinct grid values, 2^3 levels: every one is a level, nothing moves beyond the grid's rounding
        float lo = -0.17f, hi = 5f;
        float s = (hi - lo) / 255;
        int z = Math.round(-lo / s);
        float[] x = new float[500];
        int[] codes = {z - 3, z, z + 1, z + 40, 255};
        for (int i = 0; i < x.length; i++) x[i] = (codes[i % codes.length] - z) * s;
        CodebookOperand c = CodebookFit.fit("blocks.0.mlp.fc2", x, 0, x.length, 3, lo, hi);
        assertEquals(s, c.scale());
        assertEquals(z, c.zeroPoint());
        assertArrayEquals(codes, c.levels());
        float[] y = new float[x.length];
        c.fakeQuant("op", 0, x, 0, y, 0, x.length);
        assertArrayEquals(x, y);
    }

    /** AdaLog's post-GELU quantizer as its code writes it (eval mode, without the mantissa table). */
    static double adalogValue(double x, int bits, double top, int q) {
        double c = CodebookFit.ADALOG_SHIFT, y = Math.min(Math.max((x + c) / top, 1e-15), 1.0);
        double code = Math.rint(-Math.log(y) / Math.log(2) * CodebookFit.ADALOG_R / q);
        int levels = (1 << bits) - 1;   // vitq keeps 2^k - 1 logarithmic levels and zero
        if (code >= levels) return -c;
        return top * Math.pow(2, -code * q / CodebookFit.ADALOG_R) - c;
    }

    /**
     * The AdaLog-levelled codebook against AdaLog's formula: where the grid's rounding of a value
     * does not cross one of AdaLog's rounding boundaries, the two differ by at most half a grid step
     * (the level's own snap to the grid); most values are clear of the boundaries.
     */
    @Test
    void adalogLevelsAreAdalogsQuantizerOnTheGrid() {
        SplittableRandom r = new SplittableRandom(7);
        for (int bits : new int[] {3, 4, 6}) {
            for (int q : new int[] {10, 22, 37, 74, 138}) {
                float top = 4.5f;
                CodebookOperand c = CodebookFit.adalog(bits, top, q);
                assertTrue(c.levels().length <= 1 << bits);
                float s = c.scale();
                int n = 20000, agree = 0;
                float[] x = new float[n], y = new float[n];
                for (int i = 0; i < n; i++) x[i] = (float) (r.nextDouble() * r.nextDouble() * top - CodebookFit.ADALOG_SHIFT);
                c.fakeQuant("op", 0, x, 0, y, 0, n);
                for (int i = 0; i < n; i++) {
                    double grid = (Math.rint(x[i] / s) + c.zeroPoint() - c.zeroPoint()) * s;   // x rounded to the grid
                    double direct = adalogValue(x[i], bits, top, q), viaGrid = adalogValue(grid, bits, top, q);
                    if (direct != viaGrid) continue;   // the grid's rounding crossed an AdaLog boundary
                    agree++;
                    assertEquals(direct, y[i], 0.5 * s + 1e-6, "bits " + bits + " q " + q + " x " + x[i]);
                }
                // dense levels (6 bits, small q) put boundaries within a grid step of many values: 88 % of them stay clear
                assertTrue(agree >= 0.75 * n, "bits " + bits + " q " + q + ": " + agree + " of " + n + " off the boundaries");
            }
        }
    }

    @Test
    void fitErrorsNameTheOp() {
        float[] x = {0.1f, Float.NaN};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CodebookFit.fit("blocks.2.mlp.fc2", x, 0, 2, 4, -0.2f, 1f));
        assertTrue(e.getMessage().contains("blocks.2.mlp.fc2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CodebookFit.fit("blocks.2.mlp.fc2", x, 0, 1, 4, 0.1f, 1f));
        assertTrue(e.getMessage().contains("blocks.2.mlp.fc2") && e.getMessage().contains("zero"), e.getMessage());
    }
}
