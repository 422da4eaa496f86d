package io.vitq.calib.mp;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NuclearNormTest {

    @Test
    void diagonalMatrixIsSumOfAbsoluteDiagonal() {
        float[] d = {3f, -2f, 0.5f, 0f, 7.25f};
        int n = d.length;
        float[] a = new float[n * n];
        for (int i = 0; i < n; i++) a[i * n + i] = d[i];
        assertEquals(3 + 2 + 0.5 + 0 + 7.25, NuclearNorm.of(a, n, n), 1e-12);
        assertArrayEquals(new double[] {7.25, 3, 2, 0.5, 0}, NuclearNorm.singularValues(a, 0, n, n), 1e-12);
    }

    @Test
    void rectangularDiagonal() {
        // [diag(4, -1, 2) | 0] of shape 3 x 5 and its transpose 5 x 3
        float[] a = new float[3 * 5];
        a[0] = 4; a[5 + 1] = -1; a[10 + 2] = 2;
        assertEquals(7, NuclearNorm.of(a, 3, 5), 1e-12);
        assertEquals(7, NuclearNorm.of(transpose(a, 3, 5), 5, 3), 1e-12);
    }

    @Test
    void twoByTwoClosedForm() {
        // for 2 x 2: ||A||_* = sqrt(||A||_F^2 + 2 |det A|); [[1, 2], [3, 4]]: sqrt(30 + 4)
        assertEquals(Math.sqrt(34), NuclearNorm.of(new float[] {1, 2, 3, 4}, 2, 2), 1e-12);
    }

    @Test
    void rankOneOuterProductIsProductOfNorms() {
        SplittableRandom r = new SplittableRandom(1);
        int m = 37, n = 23;
        double[] u = new double[m], v = new double[n];
        for (int i = 0; i < m; i++) u[i] = r.nextDouble(-1, 1);
        for (int j = 0; j < n; j++) v[j] = r.nextDouble(-1, 1);
        float[] a = new float[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) a[i * n + j] = (float) (u[i] * v[j]);
        double expected = norm(u) * norm(v);
        assertEquals(expected, NuclearNorm.of(a, m, n), 1e-6 * expected);
        assertEquals(expected, NuclearNorm.of(transpose(a, m, n), n, m), 1e-6 * expected);
        double[] s = NuclearNorm.singularValues(a, 0, m, n);
        assertEquals(Math.min(m, n), s.length);
        for (int i = 1; i < s.length; i++) assertTrue(s[i] < 1e-5 * expected, "rank one: sigma_" + i + " = " + s[i]);
    }

    @Test
    void orthogonalMatrixHasNormN() {
        // product of two Householder reflections I - 2 w w^T / |w|^2: orthogonal, not diagonal
        int n = 31;
        SplittableRandom r = new SplittableRandom(2);
        double[] q = identity(n);
        for (int h = 0; h < 2; h++) {
            double[] w = new double[n];
            for (int i = 0; i < n; i++) w[i] = r.nextDouble(-1, 1);
            double ww = 0;
            for (double x : w) ww += x * x;
            double[] hm = identity(n);
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) hm[i * n + j] -= 2 * w[i] * w[j] / ww;
            q = multiply(q, hm, n, n, n);
        }
        float[] a = toFloat(q);
        assertEquals(n, NuclearNorm.of(a, n, n), 1e-5 * n);
        for (double s : NuclearNorm.singularValues(a, 0, n, n)) assertEquals(1, s, 1e-6);
    }

    @Test
    void randomMatricesMatchEigenvaluesOfGramMatrix() {
        // independent check: sigma_i = sqrt(lambda_i(A^T A)), eigenvalues by a cyclic Jacobi method written here
        SplittableRandom r = new SplittableRandom(3);
        int[][] shapes = {{1, 1}, {1, 7}, {7, 1}, {3, 8}, {8, 3}, {17, 17}, {40, 25}, {25, 40}, {50, 50}};
        for (int[] sh : shapes) {
            int m = sh[0], n = sh[1];
            float[] a = new float[m * n];
            for (int i = 0; i < a.length; i++) a[i] = (float) r.nextDouble(-2, 2);
            // Gram matrix of the smaller side: same nonzero eigenvalues
            boolean wide = n > m;
            int k = Math.min(m, n);
            double[] g = new double[k * k];
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) {
                    double s = 0;
                    for (int t = 0; t < Math.max(m, n); t++) {
                        s += wide ? (double) a[i * n + t] * a[j * n + t] : (double) a[t * n + i] * a[t * n + j];
                    }
                    g[i * k + j] = s;
                }
            double expected = 0;
            for (double lambda : jacobiEigenvalues(g, k)) expected += Math.sqrt(Math.max(lambda, 0));
            double got = NuclearNorm.of(a, m, n);
            assertEquals(expected, got, 1e-9 * expected, "shape " + m + "x" + n);
        }
    }

    @Test
    void offsetsAndMeanOverBatch() {
        // [G = 3, H = 2, T, T] maps: mean over the 6 maps equals the mean of their norms one by one
        SplittableRandom r = new SplittableRandom(4);
        int count = 6, t = 13;
        float[] maps = new float[count * t * t];
        for (int i = 0; i < maps.length; i++) maps[i] = (float) r.nextDouble();
        double sum = 0;
        for (int i = 0; i < count; i++) {
            float[] one = java.util.Arrays.copyOfRange(maps, i * t * t, (i + 1) * t * t);
            double viaOffset = NuclearNorm.of(maps, i * t * t, t, t);
            assertEquals(NuclearNorm.of(one, t, t), viaOffset, 0.0);
            sum += viaOffset;
        }
        float[] before = maps.clone();
        assertEquals(sum / count, NuclearNorm.mean(maps, count, t, t), 1e-12 * sum);
        assertArrayEquals(before, maps, "input left unchanged");
        // output features [B = 4, tokens 9, features 5]
        float[] feats = new float[4 * 9 * 5];
        for (int i = 0; i < feats.length; i++) feats[i] = (float) r.nextDouble(-1, 1);
        double s2 = 0;
        for (int b = 0; b < 4; b++) s2 += NuclearNorm.of(feats, b * 45, 9, 5);
        assertEquals(s2 / 4, NuclearNorm.mean(feats, 4, 9, 5), 1e-12 * s2);
    }

    @Test
    void rowOrderDoesNotMatter() {
        // Swin's window-ordered tokens: a row permutation keeps the singular values
        SplittableRandom r = new SplittableRandom(5);
        int m = 16, n = 6;
        float[] a = new float[m * n];
        for (int i = 0; i < a.length; i++) a[i] = (float) r.nextDouble(-1, 1);
        float[] p = new float[m * n];
        for (int i = 0; i < m; i++) System.arraycopy(a, i * n, p, ((i * 5) % m) * n, n);
        assertEquals(NuclearNorm.of(a, m, n), NuclearNorm.of(p, m, n), 1e-12);
    }

    @Test
    void rejectsBadInput() {
        assertThrows(IllegalArgumentException.class, () -> NuclearNorm.of(new float[] {1, Float.NaN, 0, 1}, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> NuclearNorm.of(new float[3], 2, 2));
        assertThrows(IllegalArgumentException.class, () -> NuclearNorm.mean(new float[8], 3, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> NuclearNorm.of(new float[0], 0, 2));
    }

    // ---- helpers ----

    /** Eigenvalues of the symmetric k x k matrix g by cyclic Jacobi rotations. */
    static double[] jacobiEigenvalues(double[] g, int k) {
        double[] a = g.clone();
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < k; p++) for (int q = p + 1; q < k; q++) off += a[p * k + q] * a[p * k + q];
            if (off < 1e-30) break;
            for (int p = 0; p < k; p++)
                for (int q = p + 1; q < k; q++) {
                    double apq = a[p * k + q];
                    if (apq == 0) continue;
                    double theta = (a[q * k + q] - a[p * k + p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int i = 0; i < k; i++) {          // columns p, q
                        double aip = a[i * k + p], aiq = a[i * k + q];
                        a[i * k + p] = c * aip - s * aiq;
                        a[i * k + q] = s * aip + c * aiq;
                    }
                    for (int i = 0; i < k; i++) {          // rows p, q
                        double api = a[p * k + i], aqi = a[q * k + i];
                        a[p * k + i] = c * api - s * aqi;
                        a[q * k + i] = s * api + c * aqi;
                    }
                }
        }
        double[] ev = new double[k];
        for (int i = 0; i < k; i++) ev[i] = a[i * k + i];
        return ev;
    }

    private static double norm(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    private static double[] identity(int n) {
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) a[i * n + i] = 1;
        return a;
    }

    private static double[] multiply(double[] a, double[] b, int m, int k, int n) {
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) for (int t = 0; t < k; t++) for (int j = 0; j < n; j++) c[i * n + j] += a[i * k + t] * b[t * n + j];
        return c;
    }

    private static float[] toFloat(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    private static float[] transpose(float[] a, int m, int n) {
        float[] t = new float[m * n];
        for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
        return t;
    }
}
