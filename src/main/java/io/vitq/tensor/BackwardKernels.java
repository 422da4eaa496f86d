package io.vitq.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise and row kernels of the float32 activation-gradient backward pass (GELU, LayerNorm,
 * softmax). Like the forward kernels they are deterministic: exponentials are
 * {@link VectorMath#exp}'s polynomial and lane sums run in a fixed order
 * ({@link SoftmaxKernel#sumLanes}), so the gradients, and the scale searches that weight by them,
 * do not depend on the JIT tier.
 */
public final class BackwardKernels {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final float INV_SQRT2 = 0.70710678118654752f;
    private static final float INV_SQRT_2PI = 0.39894228040143268f;
    // erfc(t) = tau exp(-t^2 + P(tau)) (Numerical Recipes), the same fit as VectorMath.gelu

    private BackwardKernels() {}

    /**
     * {@code dx[i] = dy[i] * gelu'(x[i])} for i in {@code [off, off+len)}, for the exact (erf) GELU:
     * {@code gelu'(x) = Phi(x) + x phi(x)}. {@code dx} may be {@code dy} (in place).
     * Accurate to a few 1e-7 absolute (the erfc fit's relative error is below 1.2e-7).
     */
    public static void geluBackward(float[] x, float[] dy, float[] dx, int off, int len) {
        int i = 0;
        for (; i <= len - 16; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            geluDerivative(v).mul(FloatVector.fromArray(FS, dy, off + i)).intoArray(dx, off + i);
        }
        if (i < len) {
            VectorMask<Float> m = FS.indexInRange(i, len);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            geluDerivative(v).mul(FloatVector.fromArray(FS, dy, off + i, m)).intoArray(dx, off + i, m);
        }
    }

    /** Scalar {@code gelu'(x)} by the same formula (reference for tests). */
    public static float geluDerivative(float x) {
        float[] a = new float[16];
        a[0] = x;
        geluDerivative(FloatVector.fromArray(FS, a, 0)).intoArray(a, 0);
        return a[0];
    }

    static FloatVector geluDerivative(FloatVector x) {
        FloatVector t = x.abs().mul(INV_SQRT2);
        FloatVector tau = FloatVector.broadcast(FS, 1f).div(t.fma(0.5f, 1f));
        FloatVector p = VectorMath.erfcPolynomial(tau);
        FloatVector t2 = t.mul(t);
        // q = Phi(-|x|); clamps keep VectorMath.exp in range (exp(-80) ~ 1.8e-35 acts as 0)
        FloatVector q = VectorMath.exp(p.sub(t2).max(-80f)).mul(tau).mul(0.5f);
        FloatVector cdf = FloatVector.broadcast(FS, 1f).sub(q).blend(q, x.compare(VectorOperators.LT, 0f));
        FloatVector pdf = VectorMath.exp(t2.neg().max(-80f)).mul(INV_SQRT_2PI);
        return x.fma(pdf, cdf);
    }

    /**
     * LayerNorm backward over {@code rows} rows of length {@code n}: given the LayerNorm input x and
     * {@code dy = dL/dy} for {@code y = (x - mean) rstd gamma + beta}, computes
     * {@code dx = rstd (g - mean(g) - xhat mean(g xhat))} with {@code g = dy gamma}, and writes it
     * to (or, with {@code accumulate}, adds it into) dx. Mean and rstd are recomputed from x as
     * {@link LayerNormKernel} does.
     */
    public static void layerNormBackward(float[] x, int xOff, int ldx, float[] dy, int dyOff, int ldy,
                                         float[] dx, int dxOff, int lddx, int rows, int n,
                                         float[] gamma, float eps, boolean accumulate, boolean parallel) {
        Parallel.RangeBody body = (r0, r1) -> {
            float[] gx = new float[n], xh = new float[n];
            for (int r = r0; r < r1; r++) {
                layerNormBackwardRow(x, xOff + r * ldx, dy, dyOff + r * ldy, dx, dxOff + r * lddx, n,
                        gamma, eps, accumulate, gx, xh);
            }
        };
        if (parallel && rows >= 64) Parallel.forRange(rows, body); else body.run(0, rows);
    }

    private static void layerNormBackwardRow(float[] x, int xo, float[] dy, int dyo, float[] dx, int dxo, int n,
                                             float[] gamma, float eps, boolean accumulate, float[] gx, float[] xh) {
        int bound = FS.loopBound(n);
        // mean and rstd exactly as the forward computes them
        float mean = LayerNormKernel.mean(x, xo, n);
        float rstd = LayerNormKernel.rstd(x, xo, n, mean, eps);
        FloatVector vmean = FloatVector.broadcast(FS, mean);
        int i;
        FloatVector vr = FloatVector.broadcast(FS, rstd);
        FloatVector sg = FloatVector.zero(FS), sgx = FloatVector.zero(FS);
        for (i = 0; i < bound; i += FS.length()) {
            FloatVector h = FloatVector.fromArray(FS, x, xo + i).sub(vmean).mul(vr);
            FloatVector g = FloatVector.fromArray(FS, dy, dyo + i).mul(FloatVector.fromArray(FS, gamma, i));
            h.intoArray(xh, i);
            g.intoArray(gx, i);
            sg = sg.add(g);
            sgx = g.fma(h, sgx);
        }
        float a = SoftmaxKernel.sumLanes(sg), b = SoftmaxKernel.sumLanes(sgx);
        for (; i < n; i++) {
            float h = (x[xo + i] - mean) * rstd, g = dy[dyo + i] * gamma[i];
            xh[i] = h;
            gx[i] = g;
            a += g;
            b += g * h;
        }
        float ma = a / n, mb = b / n;
        FloatVector vma = FloatVector.broadcast(FS, ma), vmb = FloatVector.broadcast(FS, mb);
        for (i = 0; i < bound; i += FS.length()) {
            FloatVector h = FloatVector.fromArray(FS, xh, i);
            FloatVector g = FloatVector.fromArray(FS, gx, i);
            FloatVector r = g.sub(vma).sub(h.mul(vmb)).mul(vr);
            if (accumulate) r = r.add(FloatVector.fromArray(FS, dx, dxo + i));
            r.intoArray(dx, dxo + i);
        }
        for (; i < n; i++) {
            float r = (gx[i] - ma - xh[i] * mb) * rstd;
            dx[dxo + i] = accumulate ? dx[dxo + i] + r : r;
        }
    }

    /**
     * Softmax backward of one row with the attention scale: for {@code p = softmax(s * scale)},
     * {@code ds[j] = scale * p[j] (dp[j] - sum_k dp[k] p[k])}. {@code ds} may be {@code dp}.
     */
    public static void softmaxBackwardRow(float[] p, int pOff, float[] dp, int dpOff, float[] ds, int dsOff,
                                          int n, float scale) {
        int bound = FS.loopBound(n);
        FloatVector acc = FloatVector.zero(FS);
        int i = 0;
        for (; i < bound; i += FS.length()) {
            acc = FloatVector.fromArray(FS, p, pOff + i).fma(FloatVector.fromArray(FS, dp, dpOff + i), acc);
        }
        float dot = SoftmaxKernel.sumLanes(acc);
        for (; i < n; i++) dot += p[pOff + i] * dp[dpOff + i];
        FloatVector vdot = FloatVector.broadcast(FS, dot);
        for (i = 0; i < bound; i += FS.length()) {
            FloatVector g = FloatVector.fromArray(FS, dp, dpOff + i).sub(vdot);
            FloatVector.fromArray(FS, p, pOff + i).mul(scale).mul(g).intoArray(ds, dsOff + i);
        }
        for (; i < n; i++) ds[dsOff + i] = p[pOff + i] * scale * (dp[dpOff + i] - dot);
    }

    /** {@code dst[dOff + c*ldd + r] = src[off + r*ld + c]} for r < rows, c < cols. */
    public static void transpose(float[] src, int off, int ld, int rows, int cols, float[] dst, int dOff, int ldd) {
        for (int r0 = 0; r0 < rows; r0 += 16) {
            int r1 = Math.min(rows, r0 + 16);
            for (int c = 0; c < cols; c++) {
                int d = dOff + c * ldd;
                for (int r = r0; r < r1; r++) dst[d + r] = src[off + r * ld + c];
            }
        }
    }
}
