package io.vitq.calib;

import io.vitq.quant.CodePairs;
import io.vitq.quant.Granularity;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import io.vitq.quant.UniformQuantizer;
import io.vitq.tensor.Parallel;

import java.util.Arrays;
import java.util.List;

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
 *   <li>{@code U}: the upper Cholesky factor of {@code H^-1} (from one Cholesky factor of H reversed,
 *       {@link Factors}); rounding column c changes the later columns by
 *       {@code -(w_c - q_c) / U_cc * U_c,k}.</li>
 *   <li>Lazy blocks of {@link #BLOCK} columns: inside a block the updates are applied column by
 *       column, to the columns after the block once per block (the same result up to float
 *       rounding, as in the reference {@code fasterquant}).</li>
 *   <li>Columns in their natural order, the reference's default ({@code act_order} off; tried on ViT-Ti
 *       W4A8: 77.85 % against 78.23 % in natural order).</li>
 * </ul>
 * Each column's codes are the row quantizer's ({@link io.vitq.quant.UniformQuantizer#roundCode}): the
 * clamped rint in the row's code range, or the nearest level of a weight on a table of levels
 * (docs/LOWBIT.md section 1.2). A weight on a table of pairs (section 1.3) is rounded two columns at a
 * time, as GPTVQ does: at an even column c the pair nearest {@code (w_c / s, w_c+1 / s)} is chosen from
 * the columns as the errors of the columns before c have updated them, column c takes its first code,
 * and column c + 1, once c's error has reached it, its second; each column's error is then fed back
 * as usual. {@link #BLOCK} is even, so no pair straddles two blocks.
 * Arithmetic in double; the result is the weight {@code q * s} (a float product, so rounding it
 * again at scale s gives q back).
 */
final class Gptq {
    private Gptq() {}

    static final double DAMP = 0.01;
    static final int BLOCK = 128;

    /** {@code H = 2 X^T X / rows} of an input {@code x [rows, in]}, in double, row-major {@code [in, in]}. */
    static double[] hessian(float[] x, int rows, int in) {
        double[] h = Moments.of(x, x, rows, in, true);
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
        return round(w, out, in, Factors.of(opId, h, in, dampening).u(), quant);
    }

    /**
     * The damped Hessian {@code A = H + λ I}, λ = d mean(diag H), after a dead column's zero diagonal (no
     * input reaches it: a zero row and column in H) is made 1: {@code lr}, the lower Cholesky factor of
     * its reversal {@code J A J} (J reverses the order of rows and columns), and u, the upper Cholesky
     * factor of {@code A^-1}. One Cholesky factor serves both: from {@code J A J = L' L'^T},
     * {@code A = Ũ Ũ^T} with {@code Ũ = J L' J} upper triangular, so {@code A^-1 = U^T U} with
     * {@code U = Ũ^-1 = J L'^-1 J}, upper triangular with a positive diagonal: one Cholesky factor and
     * one triangular inverse, half the work of factoring A, inverting it and factoring the inverse.
     */
    record Factors(double[] lr, double[] u, double lambda) {
        static Factors of(String opId, double[] h, int in, double dampening) {
            double[] hd = h.clone();
            for (int c = 0; c < in; c++) if (hd[c * in + c] == 0) hd[c * in + c] = 1;
            double mean = 0;
            for (int c = 0; c < in; c++) mean += hd[c * in + c];
            double lambda = dampening * mean / in;
            for (int c = 0; c < in; c++) hd[c * in + c] += lambda;
            double[] lr = cholesky(opId, reversed(hd, in), in);
            return new Factors(lr, upperCholeskyOfInverseFromReversedLower(lr, in), lambda);
        }
    }

    /** GPTQ's rounding with {@code u}, the upper Cholesky factor of the damped Hessian's inverse. */
    static float[] round(float[] w, int out, int in, double[] u, UniformOperand quant) {
        float[] scales = quant.scales();
        Granularity g = quant.granularity();
        float[] rowScale = new float[out];
        UniformQuantizer[] rowQuant = new UniformQuantizer[out];   // each row's codes (an asymmetric row's own range, or the levels)
        for (int j = 0; j < out; j++) {
            int s = g.scaleIndexOfRow(j, out, scales.length);
            rowQuant[j] = quant.quantizer(s);
            rowScale[j] = scales[s];
        }
        CodePairs pairs = quant.pairs();
        if (pairs != null && in % 2 != 0) throw new IllegalArgumentException("GPTQ: a table of pairs needs an even number of columns, got " + in);
        int[] secondCode = pairs == null ? null : new int[out];   // the odd column's code of each row's pair
        // W transposed, wt[c][j]: a column of W is contiguous
        double[][] wt = new double[in][out];
        for (int j = 0; j < out; j++) for (int c = 0; c < in; c++) wt[c][j] = w[j * in + c];

        float[] result = new float[out * in];
        for (int b0 = 0; b0 < in; b0 += BLOCK) {
            int b1 = Math.min(b0 + BLOCK, in);
            double[][] err = new double[b1 - b0][];
            for (int c = b0; c < b1; c++) {
                double[] col = wt[c];
                double d = u[c * in + c];
                double[] e = new double[out];
                for (int j = 0; j < out; j++) {
                    double s = rowScale[j];
                    double code;
                    if (pairs == null) {
                        code = rowQuant[j].roundCode(col[j] / s);
                    } else if ((c & 1) == 0) {
                        int p = pairs.nearest(col[j] / s, wt[c + 1][j] / s);
                        code = pairs.first(p);
                        secondCode[j] = pairs.second(p);
                    } else {
                        code = secondCode[j];
                    }
                    result[j * in + c] = (int) code * rowScale[j];
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

    /** How {@link #crossValidated} rounds: to nearest, GPTQ on the weight, or GPTQ on the weight compensated for the input's quantization. */
    enum Kind { NEAREST, GPTQ, COMPENSATED }

    /** One rounding candidate: a kind and its dampening (NaN for NEAREST). */
    record Candidate(Kind kind, double damp) {}

    /** What {@link #crossValidated} chose: the candidate and the weight (null when it rounds to nearest). */
    record Choice(Candidate candidate, float[] weight) {
        /** The plan's op info: {@code none: round to nearest}, the dampening, or {@code compensated, d}. */
        String describe() {
            return switch (candidate.kind()) {
                case NEAREST -> "none: round to nearest";
                case GPTQ -> Double.toString(candidate.damp());
                case COMPENSATED -> "compensated, " + candidate.damp();
            };
        }
    }

    /**
     * GPTQ with its dampening chosen on the calibration images themselves [vitq]: the images are split
     * in two halves; for each dampening in {@link #DAMPS}, GPTQ on one half's Hessian is scored on the
     * other half (and vice versa), the score being the op's output error against the float op,
     * {@code sum (g (W x - Q xq))^2}, weighted by the output gradients g when given (the Hessian
     * metric's weighting) or plain; rounding to nearest is scored on both halves. The best candidate
     * is then run on all images. With 32 images GPTQ's error feedback fits the calibration tokens (its
     * advantage over rounding to nearest shrinks or reverses on other images, deeper layers most), so
     * the choice includes not using it. (Choosing per output row instead, which GPTQ's row-wise
     * rounding would allow, fitted the halves more closely and lost 0.9 points of top-1 against the
     * choice per op on ViT-Ti and DeiT-Ti W4A8: docs/LOWBIT.md section 4.1.)
     *
     * <p>With a quantized input {@code xq} the Hessian is the quantized input's, and a third kind of
     * candidate [vitq, after ERQ's activation error reduction] first compensates the weight for the
     * input's quantization error: the ridge solution {@code W* = argmin ||W x - W* xq||^2 + λ ||W* - W||^2
     * = (W C + λ W)(H + λ I)^-1} with {@code C = 2 x^T xq / n}, λ the dampening, then GPTQ on W*
     * (since {@code ||W x - Q xq||^2 = ||W* xq - Q xq||^2 +} a constant when λ = 0).
     *
     * @param x  [rows, in] float inputs, rows = samples x tokens
     * @param xq [rows, in] the same inputs through the op's input quantizer, or null (the op sees x)
     * @param g  [rows, out] output gradients, or null
     */
    static Choice crossValidated(String opId, float[] w, int out, int in, float[] x, float[] xq, float[] g, int rows, int samples,
                                 UniformOperand quant) {
        if (samples < 2) {
            return new Choice(new Candidate(Kind.GPTQ, DAMP), round(opId, w, out, in, hessian(xq == null ? x : xq, rows, in), quant));
        }
        int tokens = rows / samples, half = samples / 2;
        int rowsA = half * tokens, rowsB = rows - rowsA;
        Half a = new Half(w, x, xq, g, 0, rowsA, in, out), b = new Half(w, x, xq, g, rowsA, rows, in, out);
        float[] rtn = new float[out * in];
        ScaledRanges.fakeQuantRows(quant, opId, w, out, in, rtn);
        double best = a.error(rtn) + b.error(rtn);
        Candidate chosen = new Candidate(Kind.NEAREST, Double.NaN);
        for (Kind k : xq == null ? List.of(Kind.GPTQ) : List.of(Kind.GPTQ, Kind.COMPENSATED)) {
            for (double d : DAMPS) {
                double e = b.error(a.rounded(opId, quant, k, d)) + a.error(b.rounded(opId, quant, k, d));
                if (e < best) {
                    best = e;
                    chosen = new Candidate(k, d);
                }
            }
        }
        if (chosen.kind() == Kind.NEAREST) return new Choice(chosen, null);
        Half all = new Half(w, x, xq, g, 0, rows, in, out);
        return new Choice(chosen, all.rounded(opId, quant, chosen.kind(), chosen.damp()));
    }

    /** One part of the calibration rows of one Linear (weight w): its inputs, quantized inputs, gradients and moments. */
    private static final class Half {
        final float[] w, x, xq, g;
        final int rows, in, out;
        final double[] h;      // 2 xq^T xq / rows
        double[] cross;        // 2 x^T xq / rows, when first needed
        float[] floatOutput;   // W x, the target every candidate is scored against, when first needed
        private final java.util.Map<Double, Factors> factors = new java.util.HashMap<>();   // by dampening

        Half(float[] w, float[] x, float[] xq, float[] g, int from, int to, int in, int out) {
            this.w = w;
            this.x = Arrays.copyOfRange(x, from * in, to * in);
            this.xq = xq == null ? null : Arrays.copyOfRange(xq, from * in, to * in);
            this.g = g == null ? null : Arrays.copyOfRange(g, from * out, to * out);
            this.rows = to - from;
            this.in = in;
            this.out = out;
            this.h = hessian(this.xq == null ? this.x : this.xq, rows, in);
        }

        /** The candidate fitted on this part; GPTQ and the compensation share the factors of one dampening. */
        float[] rounded(String opId, UniformOperand quant, Kind kind, double damp) {
            Factors f = factors.computeIfAbsent(damp, d -> Factors.of(opId, h, in, d));
            if (kind == Kind.COMPENSATED && cross == null) cross = crossMoment(x, xq, rows, in);
            return round(kind == Kind.COMPENSATED ? compensated(w, out, in, cross, f) : w, out, in, f.u(), quant);
        }

        /** {@code sum_r sum_j (g_rj (W x_r - Q xq_r)_j)^2} on this part (g = 1 when null). */
        double error(float[] q) {
            if (floatOutput == null) floatOutput = product(x, w, rows, out, in);
            float[] o = floatOutput, oq = product(xq == null ? x : xq, q, rows, out, in);
            double e = 0;
            for (int i = 0; i < o.length; i++) {
                double v = (double) o[i] - oq[i];
                if (g != null) v *= g[i];
                e += v * v;
            }
            return e;
        }
    }

    /**
     * The weight compensated for the input's quantization, {@code W* = (W C + λ W)(H + λ I)^-1}
     * with {@code H = 2 xq^T xq / n}, {@code C = 2 x^T xq / n} and λ = damp mean(diag H) (H with dead
     * columns' diagonals 1, as GPTQ's): the ridge minimiser of {@code ||W x - W* xq||^2 + λ ||W* - W||^2}
     * (times n / 2).
     */
    static float[] compensated(String opId, float[] w, int out, int in, double[] h, double[] cross, double damp) {
        return compensated(w, out, in, cross, Factors.of(opId, h, in, damp));
    }

    /**
     * {@link #compensated} with the damped Hessian's factors: row j of W* solves {@code w*_j A = w_j C + λ w_j},
     * i.e. {@code A w*_j^T = (w_j C + λ w_j)^T} (A symmetric), with {@code J A J = L' L'^T} on the reversed
     * right-hand side ({@link Compensation}).
     */
    static float[] compensated(float[] w, int out, int in, double[] cross, Factors f) {
        return Compensation.solve(w, out, in, cross, f.lr(), f.lambda());
    }

    /** {@code 2 a^T b / rows} of {@code a, b [rows, in]}, row-major {@code [in, in]}: entry (k, c) = 2 sum_r a_rk b_rc / rows. */
    static double[] crossMoment(float[] a, float[] b, int rows, int in) {
        return Moments.of(a, b, rows, in, false);
    }

    /** {@code x w^T} for x [rows, in], w [out, in]. */
    private static float[] product(float[] x, float[] w, int rows, int out, int in) {
        io.vitq.tensor.PackedB p = io.vitq.tensor.PackedB.packTransposed(w, 0, in, out, in);
        float[] o = new float[rows * out];
        io.vitq.tensor.Gemm.gemm(x, 0, in, rows, p, o, 0, out, null, io.vitq.tensor.Activation.NONE, false, true);
        return o;
    }

    private static void axpy(double a, double[] x, double[] y) {
        if (a == 0) return;
        for (int j = 0; j < x.length; j++) y[j] += a * x[j];
    }

    /** {@code U = J L'^-1 J} from {@code lr = L'}, the lower Cholesky factor of {@code J H J}. */
    private static double[] upperCholeskyOfInverseFromReversedLower(double[] lr, int n) {
        double[] li = Triangular.lowerInverse(lr, n);
        double[] u = new double[n * n];
        // U_ij = (L'^-1)_(n-1-i)(n-1-j), upper where j >= i
        Parallel.forEach(n, i -> {
            for (int j = i; j < n; j++) u[i * n + j] = li[(n - 1 - i) * n + n - 1 - j];
        });
        return u;
    }

    /** {@code J a J}: a {@code [n, n]} matrix with the order of its rows and columns reversed. */
    static double[] reversed(double[] a, int n) {
        double[] r = new double[n * n];
        for (int i = 0; i < n; i++) for (int j = 0; j < n; j++) r[i * n + j] = a[(n - 1 - i) * n + n - 1 - j];
        return r;
    }

    /**
     * Lower Cholesky factor of a symmetric positive definite {@code [n, n]} matrix: the damped Hessian
     * in reversed order ({@link Factors}), so a failure names the Hessian's column {@code n - 1 - j}.
     */
    private static double[] cholesky(String opId, double[] a, int n) {
        try {
            return Triangular.cholesky(a, n);
        } catch (Triangular.NotPositiveDefinite e) {
            throw new IllegalArgumentException(opId + ": GPTQ's Hessian is not positive definite (column "
                    + (n - 1 - e.column) + ")");
        }
    }
}
