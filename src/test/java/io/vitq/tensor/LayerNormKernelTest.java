package io.vitq.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link LayerNormKernel#forward} against a float64 restatement of
 * {@code y = (x - mean) / sqrt(var + eps) * gamma + beta} (population variance), with an error
 * bound derived from float32 rounding (U = 2^-24 per rounding, as in GemmTest).
 */
class LayerNormKernelTest {
    static final double U = 0x1p-24;

    /** Exact (float64) row statistics and the float kernel's error bounds on them. */
    record RowStats(double mean, double rstd, double meanErr, double rstdRel) {}

    /**
     * Derivation, for a row x of n floats with A = sum |x_i| and exact centred values c_i:
     * the float sum rounds n - 1 times, each by at most U times a partial sum bounded by A, and the
     * division by n once: {@code |mean_f - mean| <= meanErr = (n + 1) U A / n}. Then
     * d_i = fl(x_i - mean_f) = c_i - dmean + U|d_i|; the squares (FMAs) and their sum round
     * n + 1 times on partial sums bounded by S = sum c_i^2, rounding each d_i adds 2 U S, and
     * the common shift dmean adds n dmean^2 only (sum c_i = 0). ss/n and + eps round once each, so
     * {@code (var + eps)} has a relative error {@code rv = ((n + 3) U S / n + meanErr^2) / (var + eps) + 2 U};
     * sqrt and 1/x run in double and the cast rounds once: {@code rstdRel = rv / 2 + U} (times 1.01
     * for the second-order terms).
     */
    static RowStats stats(float[] x, int xo, int n, float eps) {
        double sum = 0, abs = 0;
        for (int i = 0; i < n; i++) {
            sum += x[xo + i];
            abs += Math.abs(x[xo + i]);
        }
        double mean = sum / n, ss = 0;
        for (int i = 0; i < n; i++) ss += (x[xo + i] - mean) * (x[xo + i] - mean);
        double var = ss / n;
        double meanErr = 1.01 * (n + 1) * U * abs / n;
        double rv = ((n + 3) * U * ss / n + meanErr * meanErr) / (var + eps) + 2 * U;
        return new RowStats(mean, 1 / Math.sqrt(var + eps), meanErr, 1.01 * (rv / 2 + U));
    }

    /**
     * Bound on y_i: h_i = fl(d_i rstd_f) is off from c_i rstd by
     * {@code rstd (meanErr + U|c_i|) + |c_i| rstd rstdRel + U|h_i|} (1.01 for second order); y_i =
     * fma(h_i, gamma_i, beta_i) rounds once (the scalar tail rounds h_i gamma_i first: one more U).
     */
    static double tolerance(RowStats s, double c, float gamma, double y) {
        double h = c * s.rstd();
        double dh = 1.01 * (s.rstd() * (s.meanErr() + U * Math.abs(c)) + Math.abs(h) * s.rstdRel() + U * Math.abs(h));
        return Math.abs(gamma) * (dh + U * Math.abs(h)) + U * Math.abs(y) + 1e-38;
    }

    private record Case(int rows, int n, int xOff, int ldxPad, int yOff, int ldyPad, float eps, boolean parallel) {}

    /** One call on random rows of several kinds; returns the worst err/tol. */
    private static double run(Case t, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int n = t.n, ldx = n + t.ldxPad, ldy = n + t.ldyPad;
        float[] x = new float[t.xOff + (t.rows - 1) * ldx + n + 3];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int row = 0; row < t.rows; row++) {
            int o = t.xOff + row * ldx;
            int kind = (int) ((seed + row) % 6);
            for (int i = 0; i < n; i++) {
                double g = r.nextGaussian();
                x[o + i] = (float) switch (kind) {
                    case 0 -> g;                          // plain
                    case 1 -> 300 * g;                    // ViT's late-block activations reach ~500
                    case 2 -> 1000 + g;                   // large common offset, small spread
                    case 3 -> 1e-3 * g;                   // variance of the order of eps: eps placement matters
                    case 4 -> 1e-30 * g;                  // variance far below eps
                    default -> i == n / 2 ? 1e4 : g;     // one outlier
                };
            }
        }
        float[] gamma = new float[n], beta = new float[n];
        for (int i = 0; i < n; i++) {
            gamma[i] = (float) (1 + 0.5 * r.nextGaussian());
            beta[i] = (float) r.nextGaussian();
        }
        float[] y = new float[t.yOff + (t.rows - 1) * ldy + n + 5];
        for (int i = 0; i < y.length; i++) y[i] = Float.NaN;
        float[] y0 = y.clone();
        LayerNormKernel.forward(x, t.xOff, ldx, y, t.yOff, ldy, t.rows, n, gamma, beta, t.eps, t.parallel);
        double worst = 0;
        for (int row = 0; row < t.rows; row++) {
            RowStats s = stats(x, t.xOff + row * ldx, n, t.eps);
            for (int i = 0; i < n; i++) {
                double c = x[t.xOff + row * ldx + i] - s.mean();
                double ref = c * s.rstd() * gamma[i] + beta[i];
                double tol = tolerance(s, c, gamma[i], ref);
                float got = y[t.yOff + row * ldy + i];
                double err = Math.abs(got - ref);
                if (!(err <= tol)) {
                    fail("y[" + row + "][" + i + "] = " + got + " expected " + ref + " (err " + err + ", tol " + tol + ") in " + t);
                }
                worst = Math.max(worst, err / tol);
            }
        }
        for (int i = 0; i < y.length; i++) {
            int rel = i - t.yOff;
            boolean inside = rel >= 0 && rel / ldy < t.rows && rel % ldy < n;
            if (!inside && !Float.isNaN(y[i])) fail("wrote outside y at " + i + " in " + t);
        }
        return worst;
    }

    @Test
    void everyTailAndRowKind() {
        int[] ns = {1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 96, 191, 192, 193, 384, 768};
        int[] rows = {1, 2, 6, 7};
        double worst = 0;
        int v = 0;
        for (int n : ns) {
            for (int m : rows) {
                Case t = new Case(m, n, v % 3 * 7, v % 2 * 5, v % 4 * 3, v % 3 * 2, v % 2 == 0 ? 1e-6f : 1e-5f, false);
                worst = Math.max(worst, run(t, v++));
            }
        }
        System.out.println("LayerNorm: worst err/tol = " + worst);
    }

    @Test
    void parallelRowsGiveTheSameBitsAsSerial() {
        // rows >= 64 with parallel = true go through Parallel.forRange
        for (int[] s : new int[][] {{64, 192}, {65, 17}, {197, 384}, {130, 33}}) {
            Case par = new Case(s[0], s[1], 3, 4, 1, 2, 1e-6f, true);
            run(par, s[0]);
            SplittableRandom r = new SplittableRandom(s[1]);
            int rows = s[0], n = s[1];
            float[] x = new float[rows * n], g = new float[n], b = new float[n];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 50);
            for (int i = 0; i < n; i++) {
                g[i] = (float) r.nextGaussian();
                b[i] = (float) r.nextGaussian();
            }
            float[] y1 = new float[rows * n], y2 = new float[rows * n];
            LayerNormKernel.forward(x, 0, n, y1, 0, n, rows, n, g, b, 1e-6f, true);
            LayerNormKernel.forward(x, 0, n, y2, 0, n, rows, n, g, b, 1e-6f, false);
            assertArrayEquals(y2, y1, "parallel vs serial, " + rows + " x " + n);
        }
    }

    @Test
    void constantRowGivesBeta() {
        // x - mean is exactly 0 for a constant row (sum and mean exact for these values): y = beta bit for bit
        for (int n : new int[] {1, 16, 17, 192}) {
            float[] x = new float[n], y = new float[n], g = new float[n], b = new float[n];
            for (int i = 0; i < n; i++) {
                x[i] = 2.5f;
                g[i] = i + 1;
                b[i] = -i * 0.25f;
            }
            LayerNormKernel.forward(x, 0, n, y, 0, n, 1, n, g, b, 1e-6f, false);
            assertArrayEquals(b, y, "n=" + n);
        }
    }
}
