package io.vitq.calib;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The Vector API factor steps against the plain loops, double for double, at widths around the panel of 8. */
class TriangularTest {
    /** A symmetric positive definite matrix with correlated columns, as GPTQ's Hessians are. */
    static double[] spd(SplittableRandom r, int n) {
        int rows = n + 13;
        double[] x = new double[rows * n];
        for (int t = 0; t < rows; t++) {
            double common = r.nextGaussian();
            for (int c = 0; c < n; c++) x[t * n + c] = 0.6 * common + r.nextGaussian() * (1 + c % 5);
        }
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int t = 0; t < rows; t++) s += x[t * n + i] * x[t * n + j];
                a[i * n + j] = s / rows + (i == j ? 0.01 : 0);
            }
        return a;
    }

    /** The inverse of a lower triangular l by forward substitution, entry by entry, k ascending from the column. */
    static double[] plainInverse(double[] l, int n) {
        double[] y = new double[n * n];
        for (int c = 0; c < n; c++)
            for (int i = c; i < n; i++) {
                double s = i == c ? 1 : 0;
                for (int k = c; k < i; k++) s -= l[i * n + k] * y[k * n + c];
                y[i * n + c] = s / l[i * n + i];
            }
        return y;
    }

    @Test
    void equalThePlainLoopsBitForBit() {
        SplittableRandom r = new SplittableRandom(5);
        for (int n : new int[] {1, 3, 8, 9, 16, 23, 64, 70, 137}) {
            double[] a = spd(r, n);
            double[] l = Triangular.cholesky(a, n);
            assertArrayEquals(GptqTest.plainCholesky(a, n), l, 0.0, "Cholesky factor, n = " + n);
            assertArrayEquals(plainInverse(l, n), Triangular.lowerInverse(l, n), 0.0, "inverse, n = " + n);
        }
    }

    @Test
    void aPivotThatIsNotPositiveNamesItsColumn() {
        SplittableRandom r = new SplittableRandom(6);
        for (int bad : new int[] {0, 5, 8, 12, 19}) {
            int n = 21;
            double[] a = spd(r, n);
            // column bad a copy of an earlier one (or zero): its pivot is zero up to rounding, made exactly non-positive
            for (int i = 0; i < n; i++) {
                a[i * n + bad] = 0;
                a[bad * n + i] = 0;
            }
            a[bad * n + bad] = -1;
            Triangular.NotPositiveDefinite e = assertThrows(Triangular.NotPositiveDefinite.class, () -> Triangular.cholesky(a, n));
            assertEquals(bad, e.column);
        }
    }
}
