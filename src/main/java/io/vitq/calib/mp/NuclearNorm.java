package io.vitq.calib.mp;

import io.vitq.tensor.Parallel;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.SingularValueDecomposition_F64;

/**
 * The nuclear norm ||Y||_* = sum of the singular values of Y: VT-PTQ's sensitivity of a unit
 * (ALGORITHMS.md 9.6), taken of an attention map (MSA unit) or of a unit's output feature (MLP).
 *
 * <p>Singular values come from EJML's SVD (bidiagonalisation plus implicit QR) asked for neither U
 * nor V: the norm only needs the values, and skipping the vectors saves most of the work and the
 * memory. Matrices are copied to double first, so float input loses nothing in the decomposition
 * and the caller's array is left as it was.
 */
public final class NuclearNorm {
    private NuclearNorm() {}

    /** ||A||_* of the row-major [rows, cols] matrix {@code a}. */
    public static double of(float[] a, int rows, int cols) {
        return of(a, 0, rows, cols);
    }

    /** ||A||_* of the row-major [rows, cols] matrix starting at {@code a[offset]}. */
    public static double of(float[] a, int offset, int rows, int cols) {
        return of(a, offset, rows, cols, decomposer(rows, cols));
    }

    /** The singular values of the [rows, cols] matrix at {@code a[offset]}, largest first, min(rows, cols) of them. */
    public static double[] singularValues(float[] a, int offset, int rows, int cols) {
        SingularValueDecomposition_F64<DMatrixRMaj> svd = decomposer(rows, cols);
        decompose(a, offset, rows, cols, svd);
        double[] s = java.util.Arrays.copyOf(svd.getSingularValues(), svd.numberOfSingularValues());
        java.util.Arrays.sort(s);
        for (int i = 0, j = s.length - 1; i < j; i++, j--) { double t = s[i]; s[i] = s[j]; s[j] = t; }
        return s;
    }

    /**
     * The mean nuclear norm of {@code count} consecutive row-major [rows, cols] matrices in
     * {@code data}: VT-PTQ's "per sample and head, averaged". For attention maps [G, H, T, T] pass
     * count = G * H (G = images, or windows of all images for Swin); for a unit's output feature
     * [B, tokens, features] pass count = B. The order of the rows inside one matrix does not
     * matter (singular values are invariant under row permutations), so Swin's window-ordered
     * tokens give the same value as image order.
     *
     * <p>Matrices are spread over {@link Parallel}'s threads; each norm is stored and the mean is
     * summed in index order, so the result does not depend on the thread count.
     */
    public static double mean(float[] data, int count, int rows, int cols) {
        if (count < 1) throw new IllegalArgumentException("need at least one matrix, got " + count);
        long need = (long) count * rows * cols;
        if (data.length < need) {
            throw new IllegalArgumentException(count + " matrices of [" + rows + ", " + cols + "] need " + need
                    + " values, got " + data.length);
        }
        double[] norms = new double[count];
        Parallel.forRange(count, (start, end) -> {
            SingularValueDecomposition_F64<DMatrixRMaj> svd = decomposer(rows, cols);   // one per thread: EJML keeps state
            for (int i = start; i < end; i++) norms[i] = of(data, i * rows * cols, rows, cols, svd);
        });
        double sum = 0;
        for (double n : norms) sum += n;
        return sum / count;
    }

    private static double of(float[] a, int offset, int rows, int cols, SingularValueDecomposition_F64<DMatrixRMaj> svd) {
        decompose(a, offset, rows, cols, svd);
        double[] s = svd.getSingularValues();
        double sum = 0;
        for (int i = 0, n = svd.numberOfSingularValues(); i < n; i++) sum += s[i];
        return sum;
    }

    /** Compact SVD, no U, no V: singular values only. */
    private static SingularValueDecomposition_F64<DMatrixRMaj> decomposer(int rows, int cols) {
        if (rows < 1 || cols < 1) throw new IllegalArgumentException("matrix shape [" + rows + ", " + cols + "]");
        return DecompositionFactory_DDRM.svd(rows, cols, false, false, true);
    }

    private static void decompose(float[] a, int offset, int rows, int cols, SingularValueDecomposition_F64<DMatrixRMaj> svd) {
        if (offset < 0 || offset + (long) rows * cols > a.length) {
            throw new IllegalArgumentException("matrix [" + rows + ", " + cols + "] at offset " + offset
                    + " does not fit in " + a.length + " values");
        }
        DMatrixRMaj m = new DMatrixRMaj(rows, cols);
        double[] d = m.data;
        for (int i = 0; i < d.length; i++) {
            float v = a[offset + i];
            // the QR iterations do not terminate sensibly on NaN/Inf: say where the bad value is instead
            if (!Float.isFinite(v)) {
                throw new IllegalArgumentException("non-finite value " + v + " at row " + i / cols + ", column "
                        + i % cols + " of a [" + rows + ", " + cols + "] matrix");
            }
            d[i] = v;
        }
        if (!svd.decompose(m)) throw new IllegalStateException("EJML SVD did not converge on a [" + rows + ", " + cols + "] matrix");
    }
}
