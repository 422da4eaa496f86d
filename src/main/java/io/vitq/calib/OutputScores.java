package io.vitq.calib;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Row-level pieces of the search metrics (ALGORITHMS section 3.1) on a candidate output Ô against
 * the float output O: the cosine of one row segment, the mean Hessian-weighted squared error of
 * one row segment, and their per-column forms for per-channel weights. Vectorised within a row
 * (float lanes over at most a few thousand elements), accumulated across rows in double by the
 * callers.
 */
final class OutputScores {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_PREFERRED;
    /** PyTorch's {@code cosine_similarity} eps: the norms' product is clamped to at least eps². */
    private static final double COS_EPS2 = 1e-16;

    private OutputScores() {}

    /** Score of one row segment of n values: cosine(O, Ô), {@code -mean((G (Ô - O))²)} or {@code -mean((Ô - O)²)}. */
    static double row(Metric m, float[] o, int oOff, float[] q, int qOff, float[] g, int gOff, int n) {
        return switch (m) {
            case COSINE -> cosine(o, oOff, q, qOff, n);
            case MSE -> -squaredError(o, oOff, q, qOff, n) / n;
            default -> -weightedSquaredError(o, oOff, q, qOff, g, gOff, n) / n;
        };
    }

    /** {@code sum((Ô - O)²)} over n values. */
    static double squaredError(float[] o, int oOff, float[] q, int qOff, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(n);
        for (; i < upper; i += FS.length()) {
            FloatVector e = FloatVector.fromArray(FS, q, qOff + i).sub(FloatVector.fromArray(FS, o, oOff + i));
            acc = e.fma(e, acc);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            double e = (double) q[qOff + i] - o[oOff + i];
            s += e * e;
        }
        return s;
    }

    /** {@code <o, q> / sqrt(max(|o|² |q|², eps²))}, PyTorch's cosine similarity. */
    static double cosine(float[] o, int oOff, float[] q, int qOff, int n) {
        FloatVector dot = FloatVector.zero(FS), oo = FloatVector.zero(FS), qq = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(n);
        for (; i < upper; i += FS.length()) {
            FloatVector a = FloatVector.fromArray(FS, o, oOff + i);
            FloatVector b = FloatVector.fromArray(FS, q, qOff + i);
            dot = a.fma(b, dot);
            oo = a.fma(a, oo);
            qq = b.fma(b, qq);
        }
        double d = dot.reduceLanes(VectorOperators.ADD), so = oo.reduceLanes(VectorOperators.ADD),
                sq = qq.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            double a = o[oOff + i], b = q[qOff + i];
            d += a * b;
            so += a * a;
            sq += b * b;
        }
        return d / Math.sqrt(Math.max(so * sq, COS_EPS2));
    }

    /** {@code sum((G (Ô - O))²)} over n values. */
    static double weightedSquaredError(float[] o, int oOff, float[] q, int qOff, float[] g, int gOff, int n) {
        FloatVector acc = FloatVector.zero(FS);
        int i = 0, upper = FS.loopBound(n);
        for (; i < upper; i += FS.length()) {
            FloatVector e = FloatVector.fromArray(FS, q, qOff + i).sub(FloatVector.fromArray(FS, o, oOff + i));
            FloatVector ge = FloatVector.fromArray(FS, g, gOff + i).mul(e);
            acc = ge.fma(ge, acc);
        }
        double s = acc.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            double ge = (double) g[gOff + i] * ((double) q[qOff + i] - o[oOff + i]);
            s += ge * ge;
        }
        return s;
    }

    /**
     * Per-column scores of one sample's {@code rows x n} block (per-output-channel weights, e.g.
     * PTQ4ViT's patch embedding): cosine over the rows of each column, or {@code -mean over rows
     * of (G (Ô - O))²} (G = 1 when g is null: the MSE metric); written to {@code out[0..n)}.
     */
    static void perColumn(Metric m, float[] o, int oOff, float[] q, int qOff, float[] g, int gOff,
                          int rows, int n, double[] out) {
        if (m == Metric.COSINE) {
            double[] oo = new double[n], qq = new double[n];
            java.util.Arrays.fill(out, 0, n, 0);
            for (int r = 0; r < rows; r++) {
                int ro = oOff + r * n, rq = qOff + r * n;
                for (int c = 0; c < n; c++) {
                    double a = o[ro + c], b = q[rq + c];
                    out[c] += a * b;
                    oo[c] += a * a;
                    qq[c] += b * b;
                }
            }
            for (int c = 0; c < n; c++) out[c] = out[c] / Math.sqrt(Math.max(oo[c] * qq[c], COS_EPS2));
        } else {
            java.util.Arrays.fill(out, 0, n, 0);
            for (int r = 0; r < rows; r++) {
                int ro = oOff + r * n, rq = qOff + r * n, rg = gOff + r * n;
                for (int c = 0; c < n; c++) {
                    double e = (double) q[rq + c] - o[ro + c], ge = g == null ? e : g[rg + c] * e;
                    out[c] -= ge * ge;
                }
            }
            for (int c = 0; c < n; c++) out[c] /= rows;
        }
    }

    /**
     * Centred first and second moments of the output O and the error {@code E = Ô - O} over a set of
     * values, from which the Pearson correlation of O and Ô follows: parts (heads, samples) merge
     * exactly (Chan et al.'s pairwise update), and centring each part before squaring keeps the
     * digits that a {@code sum(x²) - sum(x)²/n} form would cancel away (E is small and may carry an
     * offset).
     */
    static final class Moments {
        long n;
        double mO, mE, cOO, cEE, cOE;

        /** Moments of n values (two passes in float lanes over blocks of 2048, combined in double). */
        static Moments of(float[] o, int oOff, float[] q, int qOff, int n) {
            Moments m = new Moments();
            for (int b = 0; b < n; b += 2048) m.merge(block(o, oOff + b, q, qOff + b, Math.min(2048, n - b)));
            return m;
        }

        private static Moments block(float[] o, int oOff, float[] q, int qOff, int n) {
            FloatVector so = FloatVector.zero(FS), se = FloatVector.zero(FS);
            int i = 0, upper = FS.loopBound(n);
            for (; i < upper; i += FS.length()) {
                FloatVector a = FloatVector.fromArray(FS, o, oOff + i);
                so = so.add(a);
                se = se.add(FloatVector.fromArray(FS, q, qOff + i).sub(a));
            }
            double sO = so.reduceLanes(VectorOperators.ADD), sE = se.reduceLanes(VectorOperators.ADD);
            for (int j = i; j < n; j++) {
                sO += o[oOff + j];
                sE += q[qOff + j] - o[oOff + j];
            }
            Moments m = new Moments();
            m.n = n;
            m.mO = sO / n;
            m.mE = sE / n;
            float fo = (float) m.mO, fe = (float) m.mE;
            FloatVector oo = FloatVector.zero(FS), ee = FloatVector.zero(FS), oe = FloatVector.zero(FS);
            for (i = 0; i < upper; i += FS.length()) {
                FloatVector a = FloatVector.fromArray(FS, o, oOff + i);
                FloatVector e = FloatVector.fromArray(FS, q, qOff + i).sub(a).sub(fe);
                FloatVector c = a.sub(fo);
                oo = c.fma(c, oo);
                ee = e.fma(e, ee);
                oe = c.fma(e, oe);
            }
            double cOO = oo.reduceLanes(VectorOperators.ADD), cEE = ee.reduceLanes(VectorOperators.ADD),
                    cOE = oe.reduceLanes(VectorOperators.ADD);
            for (int j = i; j < n; j++) {
                double c = o[oOff + j] - (double) fo, e = (double) q[qOff + j] - o[oOff + j] - fe;
                cOO += c * c;
                cEE += e * e;
                cOE += c * e;
            }
            // the float centres differ from the exact means by < 1 ulp: correct the sums for that shift
            double dO = m.mO - fo, dE = m.mE - fe;
            m.cOO = cOO - n * dO * dO;
            m.cEE = cEE - n * dE * dE;
            m.cOE = cOE - n * dO * dE;
            return m;
        }

        /** Adds another part's moments (exact pairwise merge). */
        void merge(Moments b) {
            if (b.n == 0) return;
            if (n == 0) {
                n = b.n; mO = b.mO; mE = b.mE; cOO = b.cOO; cEE = b.cEE; cOE = b.cOE;
                return;
            }
            long t = n + b.n;
            double dO = b.mO - mO, dE = b.mE - mE, f = (double) n * b.n / t;
            cOO += b.cOO + dO * dO * f;
            cEE += b.cEE + dE * dE * f;
            cOE += b.cOE + dO * dE * f;
            mO += dO * b.n / t;
            mE += dE * b.n / t;
            n = t;
        }

        /** Pearson correlation of O and Ô = O + E (0 when either is constant). */
        double pearson() {
            double varQ = cOO + 2 * cOE + Math.max(cEE, 0);
            if (!(cOO > 0) || !(varQ > 0)) return 0;
            return (cOO + cOE) / Math.sqrt(cOO * varQ);
        }
    }

    /**
     * Pearson correlation of each of {@code groups} equal blocks of columns of a {@code rows x n}
     * output (e.g. q, k and v of a fused qkv output), over all rows of the block; written to
     * {@code out[0..groups)}.
     */
    static void pearsonColumnBlocks(float[] o, int oOff, float[] q, int qOff, int rows, int n, int groups, double[] out) {
        if (n % groups != 0) throw new IllegalArgumentException(n + " columns do not split into " + groups + " blocks");
        int width = n / groups;
        for (int k = 0; k < groups; k++) {
            Moments m = new Moments();
            for (int r = 0; r < rows; r++) m.merge(Moments.of(o, oOff + r * n + k * width, q, qOff + r * n + k * width, width));
            out[k] = m.pearson();
        }
    }

    /** Pearson correlation of {@code o} and {@code q} over n values. */
    static double pearson(float[] o, int oOff, float[] q, int qOff, int n) {
        return Moments.of(o, oOff, q, qOff, n).pearson();
    }

    /** Index of the first maximum (the reference's argmax: ties go to the smaller candidate). */
    static int argmax(double[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
        return best;
    }
}
