package io.vitq.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * {@link SoftmaxKernel#row} against a float64 restatement of {@code softmax_j(s[j] * scale + bias[j])},
 * with an error bound derived from float32 rounding (u = 2^-24 per rounding, as in GemmTest):
 * lengths around the vector width 16, one element, scale and bias, tiny and huge scores, rows where
 * exp underflows.
 */
class SoftmaxKernelTest {
    /** Unit roundoff of float32 (round to nearest): one rounding changes a value by at most U times itself. */
    static final double U = 0x1p-24;
    /** VectorMath.exp and (float) Math.exp: relative error at most 2.5 U (derivation in VectorMathTest). */
    static final double EXP_ERR = 2.5 * U;
    /**
     * Absolute slack: exp(y) for y < -87.3 is flushed to 0 (reference value below
     * exp(-87.3) = 1.2e-38 < 1.1 * Float.MIN_NORMAL) and a probability below MIN_NORMAL is a
     * subnormal float (absolute rounding error 2^-150).
     */
    static final double ABS = 2.0 * Float.MIN_NORMAL;

    /**
     * The float64 softmax of {@code s[j] * scale + bias[j]} and, per element, the bound on the
     * kernel's error. {@code extra[j]} is an absolute error already present in the input score
     * {@code s[j]} (0 for exact inputs; the attention test passes the GEMM's bound).
     *
     * <p>Derivation (first order in U, then exponentiated, which also covers the higher-order terms):
     * the kernel's logit v_j = fl(fl(s_j scale) + b_j) and y_j = fl(v_j - max v) differ from the
     * exact t_j - (a common shift) by
     * {@code d_j <= U|s_j scale| + U|v_j| + U|y_j| + scale extra_j}; softmax is shift invariant, and
     * a perturbation d of the logits changes p_j by the factor exp(d_j - sum_k p_k d_k). The
     * exponentials add a relative error EXP_ERR each (also in the sum's weights), the sum of n
     * positive terms (n - 1) U, 1 / sum one U and the product e_j / sum one U:
     * {@code |p^_j / p_j - 1| <= exp(B_j) - 1},
     * {@code B_j = d_j + sum_k p_k d_k + 2 EXP_ERR + (n + 1) U}.
     */
    static double[][] reference(float[] s, int off, int n, float scale, float[] bias, int biasOff, double[] extra) {
        double[] sd = new double[n];
        for (int j = 0; j < n; j++) sd[j] = s[off + j];
        return reference(sd, scale, bias, biasOff, extra);
    }

    /** The same for scores given in double (the attention test's exact q.k^T). */
    static double[][] reference(double[] s, float scale, float[] bias, int biasOff, double[] extra) {
        int n = s.length, off = 0;
        double[] t = new double[n], p = new double[n], tol = new double[n], d = new double[n];
        double m = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            t[j] = s[off + j] * scale + (bias != null ? bias[biasOff + j] : 0.0);
            m = Math.max(m, t[j]);
        }
        double sum = 0;
        for (int j = 0; j < n; j++) sum += Math.exp(t[j] - m);
        double avg = 0;
        for (int j = 0; j < n; j++) {
            p[j] = Math.exp(t[j] - m) / sum;
            d[j] = 1.01 * (U * Math.abs(s[off + j] * scale) + U * Math.abs(t[j]) + U * Math.abs(t[j] - m))
                    + (extra != null ? scale * extra[j] : 0);
            avg += p[j] * d[j];
        }
        for (int j = 0; j < n; j++) {
            double b = d[j] + avg + 2 * EXP_ERR + (n + 1) * U;
            tol[j] = p[j] * Math.expm1(1.01 * b) + ABS;
        }
        return new double[][] {p, tol};
    }

    /** Runs the kernel on a copy of {@code s} and checks the row, and that nothing outside it changed. Returns max err/tol. */
    static double check(float[] s, int off, int n, float scale, float[] bias, int biasOff, String what) {
        double[][] ref = reference(s, off, n, scale, bias, biasOff, null);
        float[] out = s.clone();
        SoftmaxKernel.row(out, off, n, scale, bias, biasOff);
        double worst = 0;
        for (int j = 0; j < n; j++) {
            double err = Math.abs(out[off + j] - ref[0][j]);
            if (!(err <= ref[1][j])) {
                fail("p[" + j + "] = " + out[off + j] + " expected " + ref[0][j] + " (err " + err + ", tol " + ref[1][j]
                        + ") in " + what + ", n=" + n + ", scale=" + scale);
            }
            worst = Math.max(worst, err / ref[1][j]);
        }
        for (int i = 0; i < s.length; i++) {
            if ((i < off || i >= off + n) && Float.floatToRawIntBits(out[i]) != Float.floatToRawIntBits(s[i])) {
                fail("wrote outside the row at " + i + " in " + what);
            }
        }
        return worst;
    }

    static float[] gaussian(SplittableRandom r, int len, double sigma) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) (r.nextGaussian() * sigma);
        return x;
    }

    private static final int[] LENGTHS = {1, 2, 3, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 196, 197, 198, 1000};
    private static final float[] SCALES = {1f, 0.125f, 0.17677669f, 3f};

    @Test
    void everyTailLengthScaleAndMagnitude() {
        SplittableRandom r = new SplittableRandom(1);
        double worst = 0;
        int v = 0;
        for (int n : LENGTHS) {
            for (float scale : SCALES) {
                for (double sigma : new double[] {1e-30, 1e-3, 1, 10, 1e3, 3e4}) {
                    int off = v++ % 3 * 5;
                    float[] s = gaussian(r, off + n + 4, sigma);
                    worst = Math.max(worst, check(s, off, n, scale, null, 0, "sigma " + sigma));
                }
            }
        }
        System.out.println("softmax, no bias: worst err/tol = " + worst);
    }

    @Test
    void biasIsAddedAfterTheScale() {
        SplittableRandom r = new SplittableRandom(2);
        double worst = 0;
        for (int n : LENGTHS) {
            for (float scale : SCALES) {
                int biasOff = n % 7 * 3, off = n % 4;
                float[] s = gaussian(r, off + n, 4);
                float[] bias = gaussian(r, biasOff + n + 2, 2);
                worst = Math.max(worst, check(s, off, n, scale, bias, biasOff, "random bias"));
                // Swin's shift mask: -100 on some positions (exp underflows there)
                float[] mask = bias.clone();
                for (int j = 0; j < n; j++) if ((j * 7 + n) % 3 == 0 && j != n / 2) mask[biasOff + j] -= 100f;
                worst = Math.max(worst, check(s, off, n, scale, mask, biasOff, "masked bias"));
            }
        }
        System.out.println("softmax with bias: worst err/tol = " + worst);
    }

    @Test
    void underflowingRows() {
        for (int n : LENGTHS) {
            // one dominant score: every other exp(y) underflows (y <= -100) and must be exactly 0
            float[] s = new float[n];
            for (int j = 0; j < n; j++) s[j] = -j % 5;
            s[n / 2] = 100f;
            check(s, 0, n, 1f, null, 0, "one dominant");
            float[] out = s.clone();
            SoftmaxKernel.row(out, 0, n, 1f, null, 0);
            for (int j = 0; j < n; j++) assertEquals(j == n / 2 ? 1f : 0f, out[j], "one-hot row, n=" + n + ", j=" + j);
            // y just above and below the flush threshold -87.3, in vector lanes and in the tail
            for (int j = 0; j < n; j++) s[j] = j % 2 == 0 ? -87.2f : -87.4f;
            s[0] = 0f;
            check(s, 0, n, 1f, null, 0, "around the underflow threshold");
            // huge spread: +-1e4 (differences far beyond float exp's range)
            SplittableRandom r = new SplittableRandom(n);
            for (int j = 0; j < n; j++) s[j] = (float) (r.nextDouble(-1, 1) * 1e4);
            check(s, 0, n, 1f, null, 0, "+-1e4");
        }
    }

    @Test
    void equalScoresGiveUniformProbabilities() {
        for (int n : LENGTHS) {
            for (float value : new float[] {0f, 1e-30f, -3f, 50f, 1e4f}) {
                float[] s = new float[n];
                Arrays.fill(s, value);
                check(s, 0, n, 0.125f, null, 0, "constant " + value);
                SoftmaxKernel.row(s, 0, n, 0.125f, null, 0);
                float first = s[0];
                for (int j = 0; j < n; j++) {
                    // every exp is exactly exp(0) = 1, so every probability is the same float 1/n (rounded)
                    assertEquals(first, s[j], "constant row, n=" + n);
                }
                // the sum of n ones is exact, 1/n rounds once, 1 * (1/n) is exact
                assertTrue(Math.abs(first - 1.0 / n) <= U / n, "1/n for n=" + n + ": " + first);
            }
        }
    }

    @Test
    void sameBitsOnEveryCall() {
        // the kernel keeps no state: a row gives the same bits on repeated calls and at any offset
        SplittableRandom r = new SplittableRandom(9);
        float[] s = gaussian(r, 197, 3), bias = gaussian(r, 197, 1);
        float[] first = s.clone();
        SoftmaxKernel.row(first, 0, 197, 0.125f, bias, 0);
        for (int rep = 0; rep < 50; rep++) {
            float[] again = new float[197 + rep];
            System.arraycopy(s, 0, again, rep, 197);
            SoftmaxKernel.row(again, rep, 197, 0.125f, bias, 0);
            for (int j = 0; j < 197; j++) {
                assertEquals(Float.floatToRawIntBits(first[j]), Float.floatToRawIntBits(again[rep + j]), "call " + rep + ", j=" + j);
            }
        }
    }
}
