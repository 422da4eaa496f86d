package io.vitq.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GemmTest {

    /** One GEMM call with every view option, checked against a double-precision reference. */
    private record Case(int m, int n, int k, int padA, int padC, int aOff, int cOff, boolean bias,
                        Activation act, boolean accumulate, boolean parallel, boolean transposed, int padB) {}

    private static float[] random(SplittableRandom r, int len) {
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
        return x;
    }

    /** Runs the case (with a fresh or the given reused buffer) and returns the max error / tolerance. */
    private static double run(Case t, long seed, PackedB reuse) {
        SplittableRandom r = new SplittableRandom(seed);
        int m = t.m, n = t.n, k = t.k, lda = k + t.padA, ldc = n + t.padC;
        float[] a = random(r, t.aOff + Math.max(0, (m - 1) * lda + k) + 3);
        int ldb = (t.transposed ? k : n) + t.padB, bOffSrc = 5;
        float[] bsrc = random(r, bOffSrc + (t.transposed ? n : k) * ldb + 2);
        float[] bias = t.bias ? random(r, n) : null;
        float[] c = random(r, t.cOff + (m - 1) * ldc + n + 7);
        float[] c0 = c.clone();
        PackedB b = reuse != null ? reuse : PackedB.buffer();
        if (t.transposed) b.repackTransposed(bsrc, bOffSrc, ldb, n, k);
        else b.repack(bsrc, bOffSrc, ldb, k, n);
        assertEquals(k, b.k());
        assertEquals(n, b.n());
        Gemm.gemm(a, t.aOff, lda, m, b, c, t.cOff, ldc, bias, t.act, t.accumulate, t.parallel);
        double worst = 0;
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0, abs = 0;
                for (int kk = 0; kk < k; kk++) {
                    double av = a[t.aOff + i * lda + kk];
                    double bv = t.transposed ? bsrc[bOffSrc + j * ldb + kk] : bsrc[bOffSrc + kk * ldb + j];
                    s += av * bv;
                    abs += Math.abs(av * bv);
                }
                if (bias != null) {
                    s += bias[j];
                    abs += Math.abs(bias[j]);
                }
                int ci = t.cOff + i * ldc + j;
                // float32 summation bound: each of the k + 2 roundings costs at most eps/2 of the running |sum|
                double tol = 6e-8 * (k + 3) * abs + 1e-30;
                if (t.act == Activation.GELU) {
                    double g = MathOps.gelu(s);
                    tol = 1.2 * tol + 2e-7 * Math.max(1, Math.abs(s));
                    s = g;
                }
                if (t.accumulate) {
                    // the kernels start the sum from the old C value, so it enters every partial sum
                    s += c0[ci];
                    tol += 6e-8 * (k + 3) * Math.abs(c0[ci]);
                }
                double err = Math.abs(c[ci] - s);
                if (!(err <= tol)) {
                    fail("C[" + i + "][" + j + "] = " + c[ci] + " expected " + s + " (err " + err + ", tol " + tol
                            + ") in " + t);
                }
                worst = Math.max(worst, err / tol);
            }
        }
        // nothing outside the C view may change
        for (int ci = 0; ci < c.length; ci++) {
            int rel = ci - t.cOff;
            boolean inside = rel >= 0 && rel / ldc < m && rel % ldc < n;
            if (!inside && c[ci] != c0[ci]) fail("wrote outside C at " + ci + " in " + t);
        }
        return worst;
    }

    private static Case variant(int m, int n, int k, int v) {
        Activation act = v % 5 == 3 ? Activation.GELU : Activation.NONE;
        boolean acc = act == Activation.NONE && v % 4 == 1;
        return new Case(m, n, k, v % 3 == 0 ? 0 : 1 + v % 7, v % 2 == 0 ? 0 : 3 + v % 5, v % 3 * 11, v % 4 * 7,
                v % 2 == 1, act, acc, v % 3 != 1, v % 2 == 0, v % 3 == 2 ? 4 : 0);
    }

    @Test
    void allTailsSmallM() {
        int[] ms = {1, 7, 8, 9, 13, 14, 15};
        int[] ns = {1, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 197, 1000};
        int[] ks = {1, 3, 64, 127, 128, 129, 257, 384, 1536};
        int v = 0;
        double worst = 0;
        for (int m : ms) for (int n : ns) for (int k : ks) worst = Math.max(worst, run(variant(m, n, k, v++), v, null));
        System.out.println("allTailsSmallM: worst err/tol = " + worst);
    }

    @Test
    void largeM() {
        int[][] shapes = {{197, 197, 64}, {197, 64, 197}, {197, 1000, 384}, {197, 49, 129}, {197, 17, 1536},
                {197, 48, 1536}, {100, 384, 1536}, {197, 1152, 384}, {64, 1536, 384}, {43, 33, 3}, {29, 96, 256}};
        int v = 0;
        for (int[] s : shapes) {
            for (int rep = 0; rep < 4; rep++) run(variant(s[0], s[1], s[2], v++), 1000 + v, null);
        }
    }

    @Test
    void everyFlagCombination() {
        for (int flags = 0; flags < 64; flags++) {
            boolean bias = (flags & 1) != 0, gelu = (flags & 2) != 0, acc = (flags & 4) != 0, par = (flags & 8) != 0,
                    tr = (flags & 16) != 0, pad = (flags & 32) != 0;
            if (gelu && acc) continue;
            for (int[] s : new int[][] {{37, 53, 131}, {30, 40, 1600}}) {
                Case t = new Case(s[0], s[1], s[2], pad ? 9 : 0, pad ? 13 : 0, pad ? 17 : 0, pad ? 19 : 0, bias,
                        gelu ? Activation.GELU : Activation.NONE, acc, par, tr, pad ? 3 : 0);
                run(t, flags, null);
            }
        }
    }

    @Test
    void packedAPathForAliasingRowStrides() {
        // lda a multiple of 1024 floats puts all rows of a tile in one L1 set: A is then packed per tile
        assertTrue(Gemm.rowsAlias(1024, 14));
        assertTrue(Gemm.rowsAlias(3072, 14));
        assertTrue(!Gemm.rowsAlias(384, 14) && !Gemm.rowsAlias(1536, 14) && !Gemm.rowsAlias(1152, 14));
        int v = 0;
        for (int[] s : new int[][] {{197, 49, 100}, {30, 64, 1000}, {15, 33, 384}, {14, 32, 7}, {3, 200, 1024}}) {
            for (int rep = 0; rep < 3; rep++) {
                Case t = variant(s[0], s[1], s[2], v++);
                int lda = s[2] <= 1024 ? 1024 : 2048;
                run(new Case(t.m, t.n, t.k, lda - t.k, t.padC, t.aOff, t.cOff, t.bias, t.act, t.accumulate,
                        t.parallel, t.transposed, t.padB), 500 + v, null);
            }
        }
    }

    @Test
    void repackReusedBufferWithDifferentSizes() {
        PackedB buf = PackedB.buffer();
        int[][] shapes = {{197, 64, 197}, {9, 1000, 384}, {13, 17, 3}, {197, 197, 64}, {20, 64, 1536}, {8, 1, 1},
                {197, 64, 197}, {15, 384, 1536}, {16, 1152, 384}, {197, 197, 64}};
        int v = 0;
        for (int[] s : shapes) {
            run(variant(s[0], s[1], s[2], v++), 77 + v, buf);
            Case t = variant(s[0], s[1], s[2], v++);
            run(new Case(t.m, t.n, t.k, t.padA, t.padC, t.aOff, t.cOff, t.bias, t.act, t.accumulate, t.parallel,
                    !t.transposed, t.padB), 99 + v, buf);
        }
    }

    @Test
    void attentionHeadShapes() {
        // Q.K^T: A = q (strided in the qkv buffer), B = K packed transposed from the same buffer; then P.V.
        int T = 197, d = 64, D = 384, ld = 3 * D;
        SplittableRandom r = new SplittableRandom(3);
        float[] qkv = random(r, T * ld);
        PackedB kT = PackedB.buffer(), v = PackedB.buffer();
        float[] s = new float[T * T];
        float[] out = new float[T * D];
        for (int h = 0; h < 6; h += 5) {
            kT.repackTransposed(qkv, D + h * d, ld, T, d);
            Gemm.gemm(qkv, h * d, ld, T, kT, s, 0, T, null, Activation.NONE, false, false);
            for (int i = 0; i < T; i++) {
                for (int j = 0; j < T; j++) {
                    double e = 0, abs = 0;
                    for (int kk = 0; kk < d; kk++) {
                        double p = (double) qkv[i * ld + h * d + kk] * qkv[j * ld + D + h * d + kk];
                        e += p;
                        abs += Math.abs(p);
                    }
                    assertTrue(Math.abs(s[i * T + j] - e) <= 6e-8 * (d + 3) * abs, "QK^T " + i + "," + j);
                }
            }
            v.repack(qkv, 2 * D + h * d, ld, T, d);
            Gemm.gemm(s, 0, T, T, v, out, h * d, D, null, Activation.NONE, false, false);
            for (int i = 0; i < T; i++) {
                for (int j = 0; j < d; j++) {
                    double e = 0, abs = 0;
                    for (int kk = 0; kk < T; kk++) {
                        double p = (double) s[i * T + kk] * qkv[kk * ld + 2 * D + h * d + j];
                        e += p;
                        abs += Math.abs(p);
                    }
                    assertTrue(Math.abs(out[i * D + h * d + j] - e) <= 6e-8 * (T + 3) * abs, "PV " + i + "," + j);
                }
            }
        }
    }

    @Test
    void parallelEqualsSerialBitwise() {
        SplittableRandom r = new SplittableRandom(5);
        int m = 203, k = 300, n = 130;
        float[] a = random(r, m * k), w = random(r, n * k), bias = random(r, n);
        PackedB b = PackedB.packTransposed(w, 0, k, n, k);
        float[] c1 = new float[m * n], c2 = new float[m * n];
        Gemm.gemm(a, 0, k, m, b, c1, 0, n, bias, Activation.GELU, false, true);
        Gemm.gemm(a, 0, k, m, b, c2, 0, n, bias, Activation.GELU, false, false);
        assertArrayEquals(c2, c1);
    }

    @Test
    void zeroK() {
        PackedB b = PackedB.pack(new float[0], 0, 4, 0, 4);
        float[] c = {1, 2, 3, 4, 5, 6, 7, 8};
        Gemm.gemm(new float[0], 0, 0, 2, b, c, 0, 4, new float[] {1, 1, 1, 1}, Activation.NONE, true, false);
        assertArrayEquals(new float[] {2, 3, 4, 5, 6, 7, 8, 9}, c);
        Gemm.gemm(new float[0], 0, 0, 2, b, c, 0, 4, null, Activation.NONE, false, false);
        assertArrayEquals(new float[8], c);
    }

    @Test
    void accumulateWithActivationIsRejected() {
        PackedB b = PackedB.pack(new float[16], 0, 4, 4, 4);
        assertThrows(IllegalArgumentException.class, () -> Gemm.gemm(new float[16], 0, 4, 4, b, new float[16], 0, 4,
                null, Activation.GELU, true, false));
    }

    @Test
    void vectorGeluMatchesDoubleReference() {
        // dense grid over the interesting range, plus wide-range and special values
        int len = 2_000_003;
        float[] x = new float[len];
        for (int i = 0; i < len; i++) x[i] = -12f + 24f * i / (len - 1);
        check(x);
        SplittableRandom r = new SplittableRandom(11);
        float[] y = new float[100_001];
        for (int i = 0; i < y.length; i++) y[i] = (float) (Math.scalb(r.nextDouble(), r.nextInt(-30, 20)) * (r.nextBoolean() ? 1 : -1));
        check(y);
        check(new float[] {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-30f, -1e-30f, 1e30f, -1e30f, 3.4e38f, -3.4e38f});
        float[] z = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN};
        VectorMath.geluInPlace(z, 0, 3);
        assertTrue(Float.isNaN(z[0]) || z[0] == 0f, "gelu(-inf)");
        assertEquals(Float.POSITIVE_INFINITY, z[1]);
        assertTrue(Float.isNaN(z[2]));
    }

    private static void check(float[] x) {
        float[] v = x.clone();
        VectorMath.geluInPlace(v, 0, v.length);
        double worst = 0;
        for (int i = 0; i < x.length; i++) {
            double ref = MathOps.gelu(x[i]);
            double err = Math.abs(v[i] - ref) / Math.max(1, Math.abs(x[i]));
            double errScalar = Math.abs(VectorMath.gelu(x[i]) - ref) / Math.max(1, Math.abs(x[i]));
            if (!(err <= 2e-7) || !(errScalar <= 2e-7)) {
                fail("gelu(" + x[i] + ") = " + v[i] + " / " + VectorMath.gelu(x[i]) + " expected " + ref);
            }
            worst = Math.max(worst, err);
        }
        System.out.println("gelu: worst scaled error " + worst + " over " + x.length + " points");
    }
}
