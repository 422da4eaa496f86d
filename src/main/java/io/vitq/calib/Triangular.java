package io.vitq.calib;

import io.vitq.tensor.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * GPTQ's two cubic factor steps ({@link Gptq.Factors}) on the Vector API: the lower Cholesky factor
 * of a symmetric positive definite matrix, and the inverse of a lower triangular one.
 *
 * <p>Each entry is the plain loop's sum ({@code GptqTest}'s restatements): the same terms in the
 * same ascending order, a multiply and a subtract per term, no fma, so the doubles are the plain
 * loops'. The lanes run over independent entries (8 rows of a Cholesky column, 8 columns of a row
 * of the inverse), and a panel of 8 columns (rows) shares each vector load in 8 register
 * accumulators: at ViT-B's fc2 width (3072) the plain loops stream the whole factor from memory
 * once per column; here once per 8.
 */
final class Triangular {
    private Triangular() {}

    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_512;
    /** Lanes, and the width of a panel. */
    private static final int W = 8;

    /** A leading minor that is not positive: the Cholesky factor stops at {@code column}. */
    static final class NotPositiveDefinite extends ArithmeticException {
        final int column;

        NotPositiveDefinite(int column) {
            super("not positive definite at column " + column);
            this.column = column;
        }
    }

    /**
     * The lower Cholesky factor {@code L} of {@code a} ({@code [n, n]}, row-major, symmetric; its lower
     * triangle is read), row-major with zeros above the diagonal. Entry by entry the plain loop
     * {@code d = a_jj - sum_k l_jk l_jk}, {@code l_ij = (a_ij - sum_k l_ik l_jk) / sqrt(d)}, k ascending.
     *
     * @throws NotPositiveDefinite at the first column whose pivot is not positive (or NaN)
     */
    static double[] cholesky(double[] a, int n) {
        double[] at = lowerTransposed(a, n);   // at[j n + i] = a_ij: column j of a, contiguous over i
        double[] lt = new double[n * n];   // lt[k n + i] = l_ik: column k of L, contiguous over i
        for (int j0 = 0; j0 < n; j0 += W) {
            int p = Math.min(W, n - j0), jp = j0;
            double[] panel = new double[j0 * W];   // panel[k W + q] = l_(j0+q)k for k < j0: the panel rows
            if (p == W) for (int k = 0; k < j0; k++) System.arraycopy(lt, k * n + j0, panel, k * W, W);
            else for (int k = 0; k < j0; k++) for (int q = 0; q < p; q++) panel[k * W + q] = lt[k * n + j0 + q];
            double[] block = diagonalBlock(a, lt, panel, n, j0, p);   // block[q W + r] = l_(j0+q)(j0+r), r <= q
            int below = n - j0 - p, tiles = p == W ? below / W : 0;
            Parallel.forEach(tiles, t -> choleskyTile(at, lt, panel, block, n, jp, jp + W + t * W));
            for (int i = j0 + p + tiles * W; i < n; i++) choleskyRow(at, lt, panel, block, n, jp, p, i);
        }
        double[] l = at;   // a's copy is no longer needed: L goes there, one n^2 array fewer (75 MB at 3072)
        Parallel.forEach(n, i -> {
            for (int k = 0; k <= i; k++) l[i * n + k] = lt[k * n + i];
            java.util.Arrays.fill(l, i * n + i + 1, (i + 1) * n, 0);
        });
        return l;
    }

    /** The lower triangle of {@code m} ({@code [n, n]}, row-major) transposed: {@code t[k n + i] = m_ik} for k <= i, zeros elsewhere. */
    static double[] lowerTransposed(double[] m, int n) {
        double[] t = new double[n * n];
        Parallel.forEach(n, i -> {
            for (int k = 0; k <= i; k++) t[k * n + i] = m[i * n + k];
        });
        return t;
    }

    /** Rows and columns j0 .. j0+p-1 of L, in the plain loop's order; also writes them to {@code lt}. */
    private static double[] diagonalBlock(double[] a, double[] lt, double[] panel, int n, int j0, int p) {
        double[] block = new double[W * W];
        for (int q = 0; q < p; q++) {
            int j = j0 + q;
            double d = a[j * n + j];
            for (int k = 0; k < j0; k++) d -= panel[k * W + q] * panel[k * W + q];
            for (int r = 0; r < q; r++) d -= block[q * W + r] * block[q * W + r];
            if (!(d > 0)) throw new NotPositiveDefinite(j);
            double dj = Math.sqrt(d);
            block[q * W + q] = dj;
            lt[j * n + j] = dj;
            for (int s = q + 1; s < p; s++) {
                int i = j0 + s;
                double v = a[i * n + j];
                for (int k = 0; k < j0; k++) v -= panel[k * W + s] * panel[k * W + q];
                for (int r = 0; r < q; r++) v -= block[s * W + r] * block[q * W + r];
                double lij = v / dj;
                block[s * W + q] = lij;
                lt[j * n + i] = lij;
            }
        }
        return block;
    }

    /** Rows i .. i+7 of the panel's 8 columns: the sums over k below the panel on 8 accumulators, then the panel's own terms. */
    private static void choleskyTile(double[] at, double[] lt, double[] panel, double[] block, int n, int j0, int i) {
        double[] acc = new double[W * W];   // acc[q W + lane]: column j0+q, row i+lane
        for (int q = 0; q < W; q++) System.arraycopy(at, (j0 + q) * n + i, acc, q * W, W);
        subtractProducts(lt, i, n, panel, 0, j0, acc);
        for (int q = 0; q < W; q++) {
            DoubleVector s = DoubleVector.fromArray(DS, acc, q * W);
            for (int r = 0; r < q; r++)
                s = s.sub(DoubleVector.fromArray(DS, lt, (j0 + r) * n + i).mul(block[q * W + r]));
            s.div(block[q * W + q]).intoArray(lt, (j0 + q) * n + i);
        }
    }

    /** Row i of the panel's p columns, one entry at a time (the rows after the last full tile). */
    private static void choleskyRow(double[] at, double[] lt, double[] panel, double[] block, int n, int j0, int p, int i) {
        for (int q = 0; q < p; q++) {
            double s = at[(j0 + q) * n + i];
            for (int k = 0; k < j0; k++) s -= lt[k * n + i] * panel[k * W + q];
            for (int r = 0; r < q; r++) s -= lt[(j0 + r) * n + i] * block[q * W + r];
            lt[(j0 + q) * n + i] = s / block[q * W + q];
        }
    }

    /**
     * {@code acc[q W + lane] -= v[vOff + t vStride + lane] * b[bOff + t W + q]} for t = 0 .. count-1 in
     * order: 8 accumulators over one vector load per t. Kept small and flat so that C2 keeps the
     * accumulators in registers (a larger method or a vector array boxes them: ENGINE_NOTES pitfall 4).
     */
    private static void subtractProducts(double[] v, int vOff, int vStride, double[] b, int bOff, int count, double[] acc) {
        DoubleVector a0 = DoubleVector.fromArray(DS, acc, 0), a1 = DoubleVector.fromArray(DS, acc, 8),
                a2 = DoubleVector.fromArray(DS, acc, 16), a3 = DoubleVector.fromArray(DS, acc, 24),
                a4 = DoubleVector.fromArray(DS, acc, 32), a5 = DoubleVector.fromArray(DS, acc, 40),
                a6 = DoubleVector.fromArray(DS, acc, 48), a7 = DoubleVector.fromArray(DS, acc, 56);
        for (int t = 0; t < count; t++) {
            DoubleVector x = DoubleVector.fromArray(DS, v, vOff + t * vStride);
            int o = bOff + t * W;
            a0 = a0.sub(x.mul(b[o]));
            a1 = a1.sub(x.mul(b[o + 1]));
            a2 = a2.sub(x.mul(b[o + 2]));
            a3 = a3.sub(x.mul(b[o + 3]));
            a4 = a4.sub(x.mul(b[o + 4]));
            a5 = a5.sub(x.mul(b[o + 5]));
            a6 = a6.sub(x.mul(b[o + 6]));
            a7 = a7.sub(x.mul(b[o + 7]));
        }
        a0.intoArray(acc, 0);
        a1.intoArray(acc, 8);
        a2.intoArray(acc, 16);
        a3.intoArray(acc, 24);
        a4.intoArray(acc, 32);
        a5.intoArray(acc, 40);
        a6.intoArray(acc, 48);
        a7.intoArray(acc, 56);
    }

    /**
     * The inverse of a lower triangular {@code l} ({@code [n, n]}, row-major, positive diagonal,
     * finite entries, as a Cholesky factor's are), row-major. Entry by entry the plain forward substitution {@code y_ic = (δ_ic - sum_k l_ik y_kc) / l_ii},
     * k ascending from c.
     */
    static double[] lowerInverse(double[] l, int n) {
        int panels = n / W;
        // rows[p][k W + r] = l_(8p+r)k for k < 8p: each row panel's entries left of it, interleaved for broadcasts
        double[][] rows = new double[panels][];
        Parallel.forEach(panels, p -> {
            int i0 = p * W;
            double[] r = new double[i0 * W];
            for (int q = 0; q < W; q++) for (int k = 0; k < i0; k++) r[k * W + q] = l[(i0 + q) * n + k];
            rows[p] = r;
        });
        double[] inv = new double[n * n];
        // the column tiles are independent: 8 columns each, every row panel of the tile in turn
        Parallel.forEach((n + W - 1) / W, t -> {
            int c0 = t * W;
            if (c0 + W > n) {
                for (int c = c0; c < n; c++) inverseColumn(l, inv, n, c);
                return;
            }
            int i0 = c0;
            for (; i0 + W <= n; i0 += W) inverseTile(l, rows[i0 / W], inv, n, c0, i0);
            for (int i = i0; i < n; i++) for (int c = c0; c < c0 + W; c++) inverseEntry(l, inv, n, c, i);
        });
        return inv;
    }

    /**
     * Rows i0 .. i0+7 of the columns c0 .. c0+7: the sums over the rows k from c0 to i0 (entries with
     * k below a lane's own column are zeros of the inverse, and subtracting their zero products leaves
     * the sum as it is), then the terms within the panel, in order.
     */
    private static void inverseTile(double[] l, double[] rows, double[] inv, int n, int c0, int i0) {
        double[] acc = new double[W * W];   // acc[r W + lane]: row i0+r, column c0+lane
        for (int r = 0; r < W; r++) {
            int lane = i0 + r - c0;
            if (lane < W) acc[r * W + lane] = 1;   // δ_ic; +0.0 elsewhere
        }
        subtractProducts(inv, c0 * n + c0, n, rows, c0 * W, i0 - c0, acc);
        for (int r = 0; r < W; r++) {
            int i = i0 + r;
            DoubleVector s = DoubleVector.fromArray(DS, acc, r * W);
            for (int q = 0; q < r; q++) s = s.sub(DoubleVector.fromArray(DS, inv, (i0 + q) * n + c0).mul(l[i * n + i0 + q]));
            s.div(l[i * n + i]).intoArray(inv, i * n + c0);
        }
    }

    private static void inverseColumn(double[] l, double[] inv, int n, int c) {
        for (int i = c; i < n; i++) inverseEntry(l, inv, n, c, i);
    }

    private static void inverseEntry(double[] l, double[] inv, int n, int c, int i) {
        double s = i == c ? 1 : 0;
        for (int k = c; k < i; k++) s -= l[i * n + k] * inv[k * n + c];
        inv[i * n + c] = s / l[i * n + i];
    }
}
