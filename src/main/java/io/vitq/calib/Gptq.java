package io.vitq.calib;

import io.vitq.quant.Granularity;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import io.vitq.tensor.Parallel;

/**
 * GPTQ / OPTQ weight rounding (Frantar et al., ICLR 2023; docs/LOWBIT.md, section 4) of one Linear
 * on scales already chosen: the codes {@code q} minimise {@code ||W X^T - Q X^T||^2} over the
 * calibration inputs X greedily, column by column, each column's rounding error spread over the
 * columns not yet rounded through the inverse Hessian {@code H = 2 X^T X / n}, in closed form.
 * <ul>
 *   <li>A column no input reaches ({@code H_cc = 0}) gets {@code H_cc = 1}; its weights are rounded
 *       to nearest (the reference sets them to zero, which other images would notice) [vitq].</li>
 *   <li>Dampening: {@code H += d mean(diag H) I}, the mean taken after the dead columns' 1s, with the
 *       reference's d = 0.01 or, as the calibration uses it, d chosen per Linear on held-out
 *       calibration images ({@link #crossValidated}) [vitq].</li>
 *   <li>{@code U}: the upper Cholesky factor of {@code H^-1}; rounding column c changes the later
 *       columns by {@code -(w_c - q_c) / U_cc * U_c,k}.</li>
 *   <li>Lazy blocks of {@link #BLOCK} columns: inside a block the updates are applied column by
 *       column, to the columns after the block once per block (the same result up to float
 *       rounding, as in the reference {@code fasterquant}).</li>
 *   <li>Columns in their natural order, the reference's default ({@code act_order} off; tried on ViT-Ti
 *       W4A8: 77.85 % against 78.23 % in natural order).</li>
 * </ul>
 * Arithmetic in double; the result is the weight {@code q * s} (a float product, so rounding it
 * again at scale s gives q back).
 */
final class Gptq {
    private Gptq() {}

    static final double DAMP = 0.01;
    static final int BLOCK = 128;

    /** {@code H = 2 X^T X / rows} of an input {@code x [rows, in]}, in double, row-major {@code [in, in]}. */
    static double[] hessian(float[] x, int rows, int in) {
        double[] h = new double[in * in];
        // each thread owns rows of H: no sharing, the same sums in the same order whatever the threads
        Parallel.forEach(in, i -> {
            double[] row = new double[in];
            for (int r = 0; r < rows; r++) {
                double xi = x[r * in + i];
                if (xi == 0) continue;
                int o = r * in;
                for (int j = 0; j <= i; j++) row[j] += xi * x[o + j];
            }
            for (int j = 0; j <= i; j++) h[i * in + j] = 2 * row[j] / rows;
        });
        for (int i = 0; i < in; i++) for (int j = i + 1; j < in; j++) h[i * in + j] = h[j * in + i];
        return h;
    }

    /**
     * The GPTQ-rounded weight {@code [out, in]} of {@code w} with the scales of {@code quant}
     * (per tensor, row blocks or output channels).
     *
     * @param h the Hessian from {@link #hessian} (not modified)
     */
    static float[] round(String opId, float[] w, int out, int in, double[] h, UniformOperand quant) {
        return round(opId, w, out, in, h, quant, DAMP);
    }

    /** {@link #round} with dampening {@code damp * mean(diag H)}, columns in their natural order. */
    static float[] round(String opId, float[] w, int out, int in, double[] h, UniformOperand quant, double dampening) {
        UniformQuantizer q = new UniformQuantizer(quant.bits());
        float[] scales = quant.scales();
        Granularity g = quant.granularity();
        float[] rowScale = new float[out];
        for (int j = 0; j < out; j++) rowScale[j] = scales[g.scaleIndexOfRow(j, out, scales.length)];

        double[] hd = h.clone();
        // W transposed, wt[c][j]: a column of W is contiguous
        double[][] wt = new double[in][out];
        for (int j = 0; j < out; j++) for (int c = 0; c < in; c++) wt[c][j] = w[j * in + c];
        // a dead column (no input reaches it) has a zero row and column in H: make its diagonal 1
        for (int c = 0; c < in; c++) if (hd[c * in + c] == 0) hd[c * in + c] = 1;
        double mean = 0;
        for (int c = 0; c < in; c++) mean += hd[c * in + c];
        double damp = dampening * mean / in;
        for (int c = 0; c < in; c++) hd[c * in + c] += damp;
        double[] u = upperCholeskyOfInverse(opId, hd, in);

        float[] result = new float[out * in];
        double qmin = q.minCode(), qmax = q.maxCode();
        for (int b0 = 0; b0 < in; b0 += BLOCK) {
            int b1 = Math.min(b0 + BLOCK, in);
            double[][] err = new double[b1 - b0][];
            for (int c = b0; c < b1; c++) {
                double[] col = wt[c];
                double d = u[c * in + c];
                double[] e = new double[out];
                for (int j = 0; j < out; j++) {
                    double s = rowScale[j];
                    double code = Math.min(Math.max(Math.rint(col[j] / s), qmin), qmax);
                    result[j * in + c] = q.decode((int) code, rowScale[j]);
                    e[j] = (col[j] - code * s) / d;
                }
                err[c - b0] = e;
                for (int k = c + 1; k < b1; k++) axpy(-u[c * in + k], e, wt[k]);
            }
            // the block's errors reach the later columns once
            final int start = b0, end = b1;
            Parallel.forEach(in - b1, i -> {
                int k = end + i;
                for (int c = start; c < end; c++) axpy(-u[c * in + k], err[c - start], wt[k]);
            });
        }
        return result;
    }

    /** Dampenings tried by {@link #crossValidated}; rounding to nearest is the last candidate. */
    static final double[] DAMPS = {0.01, 0.1, 1.0};

    /** What {@link #crossValidated} chose: the dampening (NaN: rounding to nearest) and the weight (null then). */
    record Choice(double damp, float[] weight) {}

    /**
     * GPTQ with its dampening chosen on the calibration images themselves [vitq]: the images are split
     * in two halves; for each dampening in {@link #DAMPS}, GPTQ on one half's Hessian is scored on the
     * other half (and vice versa), the score being the op's output error
     * {@code sum (g (W - Q) x)^2} weighted by the output gradients g when given (the Hessian metric's
     * weighting) or plain; rounding to nearest is scored on both halves. The best candidate is then
     * run on all images. With 32 images GPTQ's error feedback fits the calibration tokens (its
     * advantage over rounding to nearest shrinks or reverses on other images, deeper layers most), so
     * the choice includes not using it.
     *
     * @param x [rows, in] inputs, rows = samples x tokens
     * @param g [rows, out] output gradients, or null
     */
    static Choice crossValidated(String opId, float[] w, int out, int in, float[] x, float[] g, int rows, int samples,
                                 UniformOperand quant) {
        if (samples < 2) return new Choice(DAMP, round(opId, w, out, in, hessian(x, rows, in), quant));
        int tokens = rows / samples, half = samples / 2;
        int rowsA = half * tokens, rowsB = rows - rowsA;
        float[] xa = java.util.Arrays.copyOfRange(x, 0, rowsA * in), xb = java.util.Arrays.copyOfRange(x, rowsA * in, rows * in);
        float[] ga = g == null ? null : java.util.Arrays.copyOfRange(g, 0, rowsA * out);
        float[] gb = g == null ? null : java.util.Arrays.copyOfRange(g, rowsA * out, rows * out);
        double[] ha = hessian(xa, rowsA, in), hb = hessian(xb, rowsB, in);
        float[] rtn = new float[out * in];
        UniformQuantizer uq = new UniformQuantizer(quant.bits());
        float[] scales = quant.scales();
        for (int j = 0; j < out; j++) {
            float s = scales[quant.granularity().scaleIndexOfRow(j, out, scales.length)];
            for (int c = 0; c < in; c++) rtn[j * in + c] = uq.fakeQuant(w[j * in + c], s);
        }
        double best = error(w, rtn, out, in, xa, ga, rowsA) + error(w, rtn, out, in, xb, gb, rowsB);
        double bestDamp = Double.NaN;
        for (double d : DAMPS) {
            double e = error(w, round(opId, w, out, in, ha, quant, d), out, in, xb, gb, rowsB)
                    + error(w, round(opId, w, out, in, hb, quant, d), out, in, xa, ga, rowsA);
            if (e < best) {
                best = e;
                bestDamp = d;
            }
        }
        if (Double.isNaN(bestDamp)) return new Choice(Double.NaN, null);
        double[] h = new double[in * in];
        for (int i = 0; i < h.length; i++) h[i] = (ha[i] * rowsA + hb[i] * rowsB) / rows;
        return new Choice(bestDamp, round(opId, w, out, in, h, quant, bestDamp));
    }

    /** {@code sum_r sum_j (g_rj ((W - Q) x_r)_j)^2} (g = 1 when null), the product by the GEMM kernel. */
    static double error(float[] w, float[] q, int out, int in, float[] x, float[] g, int rows) {
        float[] d = new float[out * in];
        for (int i = 0; i < d.length; i++) d[i] = w[i] - q[i];
        io.vitq.tensor.PackedB p = io.vitq.tensor.PackedB.packTransposed(d, 0, in, out, in);
        float[] o = new float[rows * out];
        io.vitq.tensor.Gemm.gemm(x, 0, in, rows, p, o, 0, out, null, io.vitq.tensor.Activation.NONE, false, true);
        double sum = 0;
        for (int i = 0; i < o.length; i++) {
            double v = g == null ? o[i] : (double) o[i] * g[i];
            sum += v * v;
        }
        return sum;
    }

    private static void axpy(double a, double[] x, double[] y) {
        if (a == 0) return;
        for (int j = 0; j < x.length; j++) y[j] += a * x[j];
    }

    /**
     * U with {@code U^T U = H^-1}, U upper triangular, of a symmetric positive definite H
     * ({@code [n, n]}, row-major), by Cholesky {@code H = L L^T}, {@code H^-1 = L^-T L^-1} and the
     * Cholesky factor of that.
     */
    static double[] upperCholeskyOfInverse(String opId, double[] h, int n) {
        double[] l = cholesky(opId, h, n);
        // L^-1 (lower triangular), column by column by forward substitution
        double[] li = new double[n * n];
        Parallel.forEach(n, c -> {
            for (int i = c; i < n; i++) {
                double s = i == c ? 1 : 0;
                for (int k = c; k < i; k++) s -= l[i * n + k] * li[k * n + c];
                li[i * n + c] = s / l[i * n + i];
            }
        });
        // H^-1 = L^-T L^-1: (i, j) = sum_k li[k][i] li[k][j], k >= max(i, j)
        double[] inv = new double[n * n];
        Parallel.forEach(n, i -> {
            for (int j = 0; j <= i; j++) {
                double s = 0;
                for (int k = i; k < n; k++) s += li[k * n + i] * li[k * n + j];
                inv[i * n + j] = s;
            }
        });
        for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) inv[i * n + j] = inv[j * n + i];
        double[] lu = cholesky(opId, inv, n);
        double[] u = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j <= i; j++) u[j * n + i] = lu[i * n + j];
        return u;
    }

    /** Lower Cholesky factor of a symmetric positive definite {@code [n, n]} matrix. */
    static double[] cholesky(String opId, double[] a, int n) {
        double[] l = new double[n * n];
        for (int j = 0; j < n; j++) {
            double d = a[j * n + j];
            for (int k = 0; k < j; k++) d -= l[j * n + k] * l[j * n + k];
            if (!(d > 0)) throw new IllegalArgumentException(opId + ": GPTQ's Hessian is not positive definite (column " + j + ")");
            double dj = Math.sqrt(d);
            l[j * n + j] = dj;
            final int col = j;
            Parallel.forEach(n - j - 1, t -> {
                int i = col + 1 + t;
                double s = a[i * n + col];
                for (int k = 0; k < col; k++) s -= l[i * n + k] * l[col * n + k];
                l[i * n + col] = s / dj;
            });
        }
        return l;
    }
}
