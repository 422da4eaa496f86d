package io.vitq.calib;

import io.vitq.tensor.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The arithmetic of GPTQ's compensated weight ({@link Gptq#compensated}): for each row j of W, the
 * right-hand side {@code r_j = (w_j C + λ w_j)^T}, reversed, and the two triangular solves with
 * {@code L'}, the Cholesky factor of the reversed damped Hessian.
 *
 * <p>Sixteen rows of W at a time, one row per vector lane (two vectors of 8 doubles): every step
 * of the one-row loops becomes a step on 16 rows at once, the right-hand sides in register tiles
 * of 8 columns over all k, the solves reading each row of {@code L'} once per 16 rows instead of
 * once per 4. Each lane's sums keep the one-row loops' terms and order, with a multiply and an add
 * (or subtract) per term, no fma, so the doubles are those of the plain loops ({@code GptqTest}).
 * A last group of fewer rows is filled up with zero rows, whose right-hand sides and solutions are zero.
 */
final class Compensation {
    private Compensation() {}

    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_512;
    /** Rows of W per group: two vectors of 8 lanes. */
    private static final int ROWS = 16;
    /** Columns of a right-hand-side register tile. */
    private static final int COLS = 8;

    /**
     * W* {@code [out, in]}: row j solves {@code A w*_j^T = r_j} with {@code J A J = L' L'^T}, i.e.
     * {@code L' L'^T (J w*_j^T) = J r_j}.
     *
     * @param lr L', row-major {@code [in, in]} lower triangular
     */
    static float[] solve(float[] w, int out, int in, double[] cross, double[] lr, double lambda) {
        double[] lt = Triangular.lowerTransposed(lr, in);   // L'^T: the back substitution reads L''s columns as rows
        double[] packed = packColumnTiles(cross, in);
        float[] result = new float[out * in];
        Parallel.forEach((out + ROWS - 1) / ROWS, group -> {
            int j0 = group * ROWS, m = Math.min(ROWS, out - j0);
            double[] wt = new double[in * ROWS];   // wt[k ROWS + q] = w[j0 + q][k]; zero rows past m
            for (int q = 0; q < m; q++) for (int k = 0; k < in; k++) wt[k * ROWS + q] = w[(j0 + q) * in + k];
            double[] r = new double[in * ROWS];    // r[c ROWS + q]: entry c of row q's reversed right-hand side
            rightHandSides(wt, in, cross, packed, lambda, r);
            substitute(lr, lt, in, r);
            for (int q = 0; q < m; q++)
                for (int c = 0; c < in; c++) result[(j0 + q) * in + c] = (float) r[(in - 1 - c) * ROWS + q];
        });
        return result;
    }

    /**
     * {@code r_j[c] = λ w_j[c] + sum_k w_j[k] C[k][c]}, k ascending, stored at position {@code in - 1 - c}
     * (the reversal J); 8 columns c by the 16 rows in 16 vectors, over all k.
     */
    private static void rightHandSides(double[] wt, int in, double[] cross, double[] packed, double lambda, double[] r) {
        int c0 = 0;
        for (; c0 + COLS <= in; c0 += COLS) tile(wt, in, packed, c0, lambda, r);
        for (int c = c0; c < in; c++) column(wt, in, cross, c, lambda, r);
    }

    /**
     * Columns {@code c0 .. c0 + 7} from the packed C. Its own method, with the vector loads and stores
     * written out: a larger method exhausts C2's inlining budget and boxes the vectors (ENGINE_NOTES).
     */
    private static void tile(double[] wt, int in, double[] packed, int c0, double lambda, double[] r) {
        int w0 = c0 * ROWS;
        DoubleVector a0 = DoubleVector.fromArray(DS, wt, w0).mul(lambda), b0 = DoubleVector.fromArray(DS, wt, w0 + 8).mul(lambda);
        DoubleVector a1 = DoubleVector.fromArray(DS, wt, w0 + 16).mul(lambda), b1 = DoubleVector.fromArray(DS, wt, w0 + 24).mul(lambda);
        DoubleVector a2 = DoubleVector.fromArray(DS, wt, w0 + 32).mul(lambda), b2 = DoubleVector.fromArray(DS, wt, w0 + 40).mul(lambda);
        DoubleVector a3 = DoubleVector.fromArray(DS, wt, w0 + 48).mul(lambda), b3 = DoubleVector.fromArray(DS, wt, w0 + 56).mul(lambda);
        DoubleVector a4 = DoubleVector.fromArray(DS, wt, w0 + 64).mul(lambda), b4 = DoubleVector.fromArray(DS, wt, w0 + 72).mul(lambda);
        DoubleVector a5 = DoubleVector.fromArray(DS, wt, w0 + 80).mul(lambda), b5 = DoubleVector.fromArray(DS, wt, w0 + 88).mul(lambda);
        DoubleVector a6 = DoubleVector.fromArray(DS, wt, w0 + 96).mul(lambda), b6 = DoubleVector.fromArray(DS, wt, w0 + 104).mul(lambda);
        DoubleVector a7 = DoubleVector.fromArray(DS, wt, w0 + 112).mul(lambda), b7 = DoubleVector.fromArray(DS, wt, w0 + 120).mul(lambda);
        int base = c0 * in;   // packed tile c0 / COLS
        for (int k = 0; k < in; k++) {
            DoubleVector lo = DoubleVector.fromArray(DS, wt, k * ROWS), hi = DoubleVector.fromArray(DS, wt, k * ROWS + 8);
            int ko = base + k * COLS;
            double x;
            x = packed[ko];
            a0 = a0.add(lo.mul(x));
            b0 = b0.add(hi.mul(x));
            x = packed[ko + 1];
            a1 = a1.add(lo.mul(x));
            b1 = b1.add(hi.mul(x));
            x = packed[ko + 2];
            a2 = a2.add(lo.mul(x));
            b2 = b2.add(hi.mul(x));
            x = packed[ko + 3];
            a3 = a3.add(lo.mul(x));
            b3 = b3.add(hi.mul(x));
            x = packed[ko + 4];
            a4 = a4.add(lo.mul(x));
            b4 = b4.add(hi.mul(x));
            x = packed[ko + 5];
            a5 = a5.add(lo.mul(x));
            b5 = b5.add(hi.mul(x));
            x = packed[ko + 6];
            a6 = a6.add(lo.mul(x));
            b6 = b6.add(hi.mul(x));
            x = packed[ko + 7];
            a7 = a7.add(lo.mul(x));
            b7 = b7.add(hi.mul(x));
        }
        int o = (in - 1 - c0) * ROWS;   // column c0 + j goes to row in - 1 - c0 - j
        a0.intoArray(r, o);
        b0.intoArray(r, o + 8);
        a1.intoArray(r, o - 16);
        b1.intoArray(r, o - 8);
        a2.intoArray(r, o - 32);
        b2.intoArray(r, o - 24);
        a3.intoArray(r, o - 48);
        b3.intoArray(r, o - 40);
        a4.intoArray(r, o - 64);
        b4.intoArray(r, o - 56);
        a5.intoArray(r, o - 80);
        b5.intoArray(r, o - 72);
        a6.intoArray(r, o - 96);
        b6.intoArray(r, o - 88);
        a7.intoArray(r, o - 112);
        b7.intoArray(r, o - 104);
    }

    /** One column c of the right-hand sides, from C itself (the columns past the last whole tile). */
    private static void column(double[] wt, int in, double[] cross, int c, double lambda, double[] r) {
        DoubleVector a = DoubleVector.fromArray(DS, wt, c * ROWS).mul(lambda), b = DoubleVector.fromArray(DS, wt, c * ROWS + 8).mul(lambda);
        for (int k = 0; k < in; k++) {
            double x = cross[k * in + c];
            a = a.add(DoubleVector.fromArray(DS, wt, k * ROWS).mul(x));
            b = b.add(DoubleVector.fromArray(DS, wt, k * ROWS + 8).mul(x));
        }
        int o = (in - 1 - c) * ROWS;
        a.intoArray(r, o);
        b.intoArray(r, o + 8);
    }

    /**
     * C's columns in tiles of {@link #COLS}, each tile's rows k contiguous: {@code packed[(t in + k) COLS + j] =
     * C[k][t COLS + j]}, so that the right-hand sides read one stream instead of a cache line per row of C
     * (rows 8 to 24 KB apart, a page apart at ViT-S's width, where the prefetchers do not follow).
     * The last {@code in % COLS} columns stay in C.
     */
    private static double[] packColumnTiles(double[] cross, int in) {
        int tiles = in / COLS;
        double[] packed = new double[tiles * in * COLS];
        Parallel.forEach(tiles, t -> {
            int base = t * in * COLS;
            for (int k = 0; k < in; k++) System.arraycopy(cross, k * in + t * COLS, packed, base + k * COLS, COLS);
        });
        return packed;
    }

    /** {@code L' y = r}, then {@code L'^T z = y}, in place, on the 16 lanes at once. */
    private static void substitute(double[] l, double[] lt, int n, double[] r) {
        for (int i = 0; i < n; i++) row(l, r, i, 0, i, i * n + i);
        for (int i = n - 1; i >= 0; i--) row(lt, r, i, i + 1, n, i * n + i);   // L'^T's diagonal is L''s
    }

    /**
     * Row i of a substitution: {@code r_i = (r_i - sum_{k in [from, to)} m_ik r_k) / m_ii}, k ascending,
     * m row-major {@code [n, n]} with row i at {@code i n} (its diagonal at {@code diag}).
     */
    private static void row(double[] m, double[] r, int i, int from, int to, int diag) {
        DoubleVector s0 = DoubleVector.fromArray(DS, r, i * ROWS), s1 = DoubleVector.fromArray(DS, r, i * ROWS + 8);
        int io = diag - i;
        for (int k = from; k < to; k++) {
            double a = m[io + k];
            s0 = s0.sub(DoubleVector.fromArray(DS, r, k * ROWS).mul(a));
            s1 = s1.sub(DoubleVector.fromArray(DS, r, k * ROWS + 8).mul(a));
        }
        double d = m[diag];
        s0.div(d).intoArray(r, i * ROWS);
        s1.div(d).intoArray(r, i * ROWS + 8);
    }
}
