package io.vitq.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link BackwardKernels#layerNormBackward} against a float64 restatement of the LayerNorm input
 * gradient {@code dx = rstd (g - mean(g) - xhat mean(g xhat))}, {@code g = dy gamma},
 * {@code xhat = (x - mean) rstd}, with an error bound derived from float32 rounding (U = 2^-24
 * per rounding; the row statistics' bounds are LayerNormKernelTest's, since the kernel recomputes
 * them the same way).
 */
class BackwardKernelsTest {
    static final double U = 0x1p-24;

    private record Case(int rows, int n, int xOff, int ldxPad, int dyOff, int ldyPad, int dxOff, int lddxPad,
                        float eps, boolean accumulate, boolean parallel) {}

    /**
     * Bound for one row. Float values carry these errors (first order; 1.01 covers the rest):
     * h_i = fl(fl(x_i - mean_f) rstd_f): {@code Eh_i = rstd (meanErr + U|c_i|) + |xhat_i| (rstdRel + U)};
     * g_i = fl(dy_i gamma_i): {@code U|g_i|}; a = sum g (n - 1 roundings on partial sums below
     * G = sum|g|, plus the g_i's own) and ma = a / n: {@code Ema = (n + 1) U G / n}; b = sum g h
     * (one rounding per FMA or product and add, on partial sums below GH = sum |g xhat|, plus the
     * inputs' errors) and mb = b / n: {@code Emb = ((n + 3) U GH + sum |g_i| Eh_i) / n}. Then
     * t1 = g - ma, t2 = h mb, t3 = t1 - t2 and r = t3 rstd_f each round once, and with
     * {@code accumulate} the add into dx rounds once more.
     */
    private static double run(Case t, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = t.n, ldx = n + t.ldxPad, ldy = n + t.ldyPad, lddx = n + t.lddxPad;
        float[] x = new float[t.xOff + (t.rows - 1) * ldx + n + 2];
        float[] dy = new float[t.dyOff + (t.rows - 1) * ldy + n + 2];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < dy.length; i++) dy[i] = (float) r.nextGaussian();
        for (int row = 0; row < t.rows; row++) {
            int o = t.xOff + row * ldx;
            int kind = (int) ((seed + row) % 5);
            for (int i = 0; i < n; i++) {
                double g = r.nextGaussian();
                x[o + i] = (float) switch (kind) {
                    case 0 -> g;
                    case 1 -> 300 * g;
                    case 2 -> 1000 + g;
                    case 3 -> 1e-3 * g;   // variance of the order of eps
                    default -> i == n / 2 ? 1e4 : g;
                };
                if (kind == 4) dy[t.dyOff + row * ldy + i] *= 1e-3f;   // small gradients
            }
        }
        float[] gamma = new float[n];
        for (int i = 0; i < n; i++) gamma[i] = (float) (1 + 0.5 * r.nextGaussian());
        float[] dx = new float[t.dxOff + (t.rows - 1) * lddx + n + 3];
        for (int i = 0; i < dx.length; i++) dx[i] = (float) r.nextGaussian();
        float[] dx0 = dx.clone();
        BackwardKernels.layerNormBackward(x, t.xOff, ldx, dy, t.dyOff, ldy, dx, t.dxOff, lddx, t.rows, n, gamma, t.eps,
                t.accumulate, t.parallel);
        double worst = 0;
        for (int row = 0; row < t.rows; row++) {
            int xo = t.xOff + row * ldx, yo = t.dyOff + row * ldy, dxo = t.dxOff + row * lddx;
            LayerNormKernelTest.RowStats s = LayerNormKernelTest.stats(x, xo, n, t.eps);
            double rstd = s.rstd();
            double[] xh = new double[n], g = new double[n], eh = new double[n];
            double sumG = 0, sumGH = 0, absG = 0, absGH = 0, gEh = 0;
            for (int i = 0; i < n; i++) {
                double c = x[xo + i] - s.mean();
                xh[i] = c * rstd;
                g[i] = (double) dy[yo + i] * gamma[i];
                eh[i] = 1.01 * (rstd * (s.meanErr() + U * Math.abs(c)) + Math.abs(xh[i]) * (s.rstdRel() + U));
                sumG += g[i];
                sumGH += g[i] * xh[i];
                absG += Math.abs(g[i]);
                absGH += Math.abs(g[i] * xh[i]);
                gEh += Math.abs(g[i]) * eh[i];
            }
            double ma = sumG / n, mb = sumGH / n;
            double ema = 1.01 * (n + 1) * U * absG / n;
            double emb = 1.01 * ((n + 3) * U * absGH + gEh) / n;
            for (int i = 0; i < n; i++) {
                double t1 = g[i] - ma, t2 = xh[i] * mb, t3 = t1 - t2, res = t3 * rstd;
                double e1 = U * Math.abs(g[i]) + ema + U * Math.abs(t1);
                double e2 = eh[i] * Math.abs(mb) + Math.abs(xh[i]) * emb + eh[i] * emb + U * Math.abs(t2);
                double e3 = e1 + e2 + U * Math.abs(t3);
                double tol = 1.01 * (rstd * e3 + Math.abs(res) * s.rstdRel() + U * Math.abs(res)) + 1e-37;
                double ref = res;
                if (t.accumulate) {
                    ref += dx0[dxo + i];
                    tol += U * Math.abs(ref);
                }
                float got = dx[dxo + i];
                double err = Math.abs(got - ref);
                if (!(err <= tol)) {
                    fail("dx[" + row + "][" + i + "] = " + got + " expected " + ref + " (err " + err + ", tol " + tol + ") in " + t);
                }
                worst = Math.max(worst, err / tol);
            }
        }
        for (int i = 0; i < dx.length; i++) {
            int rel = i - t.dxOff;
            boolean inside = rel >= 0 && rel / lddx < t.rows && rel % lddx < n;
            if (!inside && Float.floatToRawIntBits(dx[i]) != Float.floatToRawIntBits(dx0[i])) fail("wrote outside dx at " + i + " in " + t);
        }
        return worst;
    }

    @Test
    void layerNormBackwardEveryTailAndRowKind() {
        int[] ns = {1, 2, 3, 15, 16, 17, 31, 32, 33, 64, 65, 191, 192, 193, 384};
        double worst = 0;
        int v = 0;
        for (int n : ns) {
            for (int rows : new int[] {1, 5}) {
                for (boolean acc : new boolean[] {false, true}) {
                    Case t = new Case(rows, n, v % 3 * 5, v % 2 * 3, v % 4, v % 3 * 7, v % 5 * 2, v % 2 * 4,
                            v % 2 == 0 ? 1e-6f : 1e-5f, acc, false);
                    worst = Math.max(worst, run(t, v++));
                }
            }
        }
        System.out.println("LayerNorm backward: worst err/tol = " + worst);
    }

    @Test
    void layerNormBackwardParallelRows() {
        // rows >= 64 with parallel = true go through Parallel.forRange; same bits as one thread
        for (int[] s : new int[][] {{64, 192}, {97, 17}, {197, 384}}) {
            for (boolean acc : new boolean[] {false, true}) {
                run(new Case(s[0], s[1], 1, 2, 3, 0, 5, 1, 1e-6f, acc, true), s[0] + s[1]);
            }
            int rows = s[0], n = s[1];
            SplittableRandom r = new SplittableRandom(rows);
            float[] x = new float[rows * n], dy = new float[rows * n], g = new float[n];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) (20 * r.nextGaussian());
                dy[i] = (float) r.nextGaussian();
            }
            for (int i = 0; i < n; i++) g[i] = (float) r.nextGaussian();
            float[] d1 = new float[rows * n], d2 = new float[rows * n];
            BackwardKernels.layerNormBackward(x, 0, n, dy, 0, n, d1, 0, n, rows, n, g, 1e-6f, false, true);
            BackwardKernels.layerNormBackward(x, 0, n, dy, 0, n, d2, 0, n, rows, n, g, 1e-6f, false, false);
            assertArrayEquals(d2, d1, "parallel vs serial, " + rows + " x " + n);
        }
    }
}
