package io.vitq.calib;

import io.vitq.tensor.Parallel;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * GPTQ's second moments {@code 2 a^T b / rows} of two {@code [rows, in]} float matrices, in double,
 * each entry the sum of its products in row order with the rows whose {@code a_rk} is zero left out:
 * the definition {@link Gptq} was written with ({@code GptqTest} holds this to it bit for bit).
 *
 * <p>Computed in tiles of 8 entries of k by 16 of c held in registers over all rows, so each row of b
 * is read once per 8 values of k instead of once per k; 8 doubles a vector, a multiply and an add per
 * product (no fma: the plain loop rounds twice). A zero {@code a_rk} adds {@code ±0} instead of being
 * skipped, which leaves every sum as it is while b is finite; a b with a non-finite value takes the
 * plain loop.
 */
final class Moments {
    private Moments() {}

    private static final VectorSpecies<Double> DS = DoubleVector.SPECIES_512;
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_256;
    private static final int KB = 8, CB = 16;

    /**
     * Entry {@code (k, c)} of {@code 2 a^T b / rows}, row-major {@code [in, in]}. With {@code lower}
     * only the entries {@code c <= k} are defined (the rest may hold anything): a Hessian's half.
     */
    static double[] of(float[] a, float[] b, int rows, int in, boolean lower) {
        double[] m = new double[in * in];
        boolean finite = allFinite(b, rows * in);
        Parallel.forEach((in + KB - 1) / KB, block -> {
            int k0 = block * KB, k1 = Math.min(k0 + KB, in);
            int width = lower ? k1 : in;
            int c = 0;
            if (finite && k1 - k0 == KB)
                for (; c + CB <= width; c += CB) tile(a, b, rows, in, k0, c, m);
            for (int k = k0; k < k1; k++) plain(a, b, rows, in, k, c, width, m);
            for (int k = k0; k < k1; k++) for (int j = 0; j < width; j++) m[k * in + j] = 2 * m[k * in + j] / rows;
        });
        return m;
    }

    /** Sums {@code m[k][c0 .. c0 + 16)} for the 8 values of k from k0, over all rows in order. */
    private static void tile(float[] a, float[] b, int rows, int in, int k0, int c0, double[] m) {
        DoubleVector s00 = DoubleVector.zero(DS), s01 = DoubleVector.zero(DS), s10 = DoubleVector.zero(DS), s11 = DoubleVector.zero(DS),
                s20 = DoubleVector.zero(DS), s21 = DoubleVector.zero(DS), s30 = DoubleVector.zero(DS), s31 = DoubleVector.zero(DS),
                s40 = DoubleVector.zero(DS), s41 = DoubleVector.zero(DS), s50 = DoubleVector.zero(DS), s51 = DoubleVector.zero(DS),
                s60 = DoubleVector.zero(DS), s61 = DoubleVector.zero(DS), s70 = DoubleVector.zero(DS), s71 = DoubleVector.zero(DS);
        for (int r = 0; r < rows; r++) {
            int o = r * in, ok = o + k0;
            DoubleVector b0 = (DoubleVector) FloatVector.fromArray(FS, b, o + c0).convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector b1 = (DoubleVector) FloatVector.fromArray(FS, b, o + c0 + 8).convertShape(VectorOperators.F2D, DS, 0);
            DoubleVector x = DoubleVector.broadcast(DS, a[ok]);
            s00 = s00.add(x.mul(b0));
            s01 = s01.add(x.mul(b1));
            x = DoubleVector.broadcast(DS, a[ok + 1]);
            s10 = s10.add(x.mul(b0));
            s11 = s11.add(x.mul(b1));
            x = DoubleVector.broadcast(DS, a[ok + 2]);
            s20 = s20.add(x.mul(b0));
            s21 = s21.add(x.mul(b1));
            x = DoubleVector.broadcast(DS, a[ok + 3]);
            s30 = s30.add(x.mul(b0));
            s31 = s31.add(x.mul(b1));
            x = DoubleVector.broadcast(DS, a[ok + 4]);
            s40 = s40.add(x.mul(b0));
            s41 = s41.add(x.mul(b1));
            x = DoubleVector.broadcast(DS, a[ok + 5]);
            s50 = s50.add(x.mul(b0));
            s51 = s51.add(x.mul(b1));
            x = DoubleVector.broadcast(DS, a[ok + 6]);
            s60 = s60.add(x.mul(b0));
            s61 = s61.add(x.mul(b1));
            x = DoubleVector.broadcast(DS, a[ok + 7]);
            s70 = s70.add(x.mul(b0));
            s71 = s71.add(x.mul(b1));
        }
        int o = k0 * in + c0;
        s00.intoArray(m, o);
        s01.intoArray(m, o + 8);
        s10.intoArray(m, o + in);
        s11.intoArray(m, o + in + 8);
        s20.intoArray(m, o + 2 * in);
        s21.intoArray(m, o + 2 * in + 8);
        s30.intoArray(m, o + 3 * in);
        s31.intoArray(m, o + 3 * in + 8);
        s40.intoArray(m, o + 4 * in);
        s41.intoArray(m, o + 4 * in + 8);
        s50.intoArray(m, o + 5 * in);
        s51.intoArray(m, o + 5 * in + 8);
        s60.intoArray(m, o + 6 * in);
        s61.intoArray(m, o + 6 * in + 8);
        s70.intoArray(m, o + 7 * in);
        s71.intoArray(m, o + 7 * in + 8);
    }

    /** Sums {@code m[k][from .. to)} the plain way: the rows with {@code a_rk != 0}, in order. */
    private static void plain(float[] a, float[] b, int rows, int in, int k, int from, int to, double[] m) {
        if (from >= to) return;
        double[] sum = new double[to - from];
        for (int r = 0; r < rows; r++) {
            double ak = a[r * in + k];
            if (ak == 0) continue;
            int o = r * in + from;
            for (int c = 0; c < sum.length; c++) sum[c] += ak * b[o + c];
        }
        System.arraycopy(sum, 0, m, k * in + from, sum.length);
    }

    private static boolean allFinite(float[] x, int n) {
        for (int i = 0; i < n; i++) if (!Float.isFinite(x[i])) return false;
        return true;
    }
}
