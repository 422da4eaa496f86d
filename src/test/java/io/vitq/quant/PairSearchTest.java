package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** {@link PairSearch} against a scan of every point, on ties (exact and between duplicates) and on random points, with and without a hint. */
class PairSearchTest {
    /** The definition: the lowest index of least {@code (v0 - x)^2 + (v1 - y)^2}. */
    static int scan(double[] x, double[] y, double v0, double v1) {
        int best = 0;
        double bestDistance = Double.POSITIVE_INFINITY;
        for (int i = 0; i < x.length; i++) {
            double a = v0 - x[i], b = v1 - y[i], d = a * a + b * b;
            if (d < bestDistance) {
                bestDistance = d;
                best = i;
            }
        }
        return best;
    }

    @Test
    void equalsTheScanOnIntegerGridsWithTiesAndDuplicates() {
        SplittableRandom r = new SplittableRandom(1);
        for (int t = 0; t < 50; t++) {
            int n = 1 + r.nextInt(300);
            double[] x = new double[n], y = new double[n];
            for (int i = 0; i < n; i++) {   // few distinct values: equal x, equal points and exact ties everywhere
                x[i] = r.nextInt(-6, 7);
                y[i] = r.nextInt(-6, 7);
            }
            PairSearch s = new PairSearch(x, y);
            for (double v0 = -8; v0 <= 8; v0 += 0.5)
                for (double v1 = -8; v1 <= 8; v1 += 0.5) {
                    int want = scan(x, y, v0, v1);
                    assertEquals(want, s.nearest(v0, v1), "table " + t + " at (" + v0 + ", " + v1 + ")");
                    assertEquals(want, s.nearest(v0, v1, r.nextInt(n)), "table " + t + " at (" + v0 + ", " + v1 + "), any hint");
                }
        }
    }

    @Test
    void equalsTheScanOnRandomPoints() {
        SplittableRandom r = new SplittableRandom(2);
        double[] x = new double[256], y = new double[256];
        for (int i = 0; i < 256; i++) {
            x[i] = r.nextGaussian() * 40;
            y[i] = 0.8 * x[i] + r.nextGaussian() * 20;
        }
        PairSearch s = new PairSearch(x, y);
        for (int q = 0; q < 100_000; q++) {
            double v0 = r.nextGaussian() * 60, v1 = r.nextGaussian() * 60;
            int want = scan(x, y, v0, v1);
            assertEquals(want, s.nearest(v0, v1), "(" + v0 + ", " + v1 + ")");
            assertEquals(want, s.nearest(v0, v1, q % 256), "(" + v0 + ", " + v1 + "), hint " + q % 256);
        }
        assertEquals(scan(x, y, 1e300, -1e300), s.nearest(1e300, -1e300));
        assertEquals(0, s.nearest(Double.NaN, 0), "a NaN query: the scan's 0");
    }
}
