package io.vitq.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised elementwise functions for GEMM epilogues.
 *
 * <p>GELU is the exact (erf) form {@code 0.5 x (1 + erf(x / sqrt 2))}, evaluated as
 * {@code x - x q} for {@code x >= 0} and {@code x q} for {@code x < 0}, with
 * {@code q = Phi(-|x|) = erfc(|x| / sqrt 2) / 2} from the Chebyshev-fitted erfc of Numerical
 * Recipes ({@code erfc(t) = tau exp(-t^2 + P(tau))}, {@code tau = 1 / (1 + t/2)}, relative error
 * below 1.2e-7). Because q is computed relative to its own (small) size, the float32 result stays
 * within {@code 2e-7 * max(1, |x|)} of the double-precision reference {@link MathOps#gelu(double)}
 * (tested in GemmTest).
 */
public final class VectorMath {
    private static final VectorSpecies<Float> FS = FloatVector.SPECIES_512;
    private static final float INV_SQRT2 = 0.70710678118654752f;
    private static final float P0 = -1.26551223f, P1 = 1.00002368f, P2 = 0.37409196f, P3 = 0.09678418f,
            P4 = -0.18628806f, P5 = 0.27886807f, P6 = -1.13520398f, P7 = 1.48851587f, P8 = -0.82215223f,
            P9 = 0.17087277f;
    private static final VectorSpecies<Integer> IS = IntVector.SPECIES_512;
    private static final float LOG2E = 1.44269504088896341f, SHIFTER = 12582912f, LN2_HI = 0.693359375f,
            LN2_LO = -2.12194440e-4f;
    private static final float E0 = 1.9875691500e-4f, E1 = 1.3981999507e-3f, E2 = 8.3334519073e-3f,
            E3 = 4.1665795894e-2f, E4 = 1.6666665459e-1f, E5 = 5.0000001201e-1f;

    private VectorMath() {}

    /** {@code x[off .. off+len) = gelu(x)} in place. */
    public static void geluInPlace(float[] x, int off, int len) {
        int i = 0;
        for (; i <= len - 16; i += 16) {
            FloatVector v = FloatVector.fromArray(FS, x, off + i);
            gelu(v).intoArray(x, off + i);
        }
        if (i < len) {
            VectorMask<Float> m = FS.indexInRange(i, len);
            FloatVector v = FloatVector.fromArray(FS, x, off + i, m);
            gelu(v).intoArray(x, off + i, m);
        }
    }

    /** Scalar version of the same approximation (same formula, for tails and reference). */
    public static float gelu(float x) {
        float t = Math.abs(x) * INV_SQRT2;
        float tau = 1f / Math.fma(t, 0.5f, 1f);
        float p = P9;
        p = Math.fma(p, tau, P8);
        p = Math.fma(p, tau, P7);
        p = Math.fma(p, tau, P6);
        p = Math.fma(p, tau, P5);
        p = Math.fma(p, tau, P4);
        p = Math.fma(p, tau, P3);
        p = Math.fma(p, tau, P2);
        p = Math.fma(p, tau, P1);
        p = Math.fma(p, tau, P0);
        float q = tau * (float) Math.exp(p - t * t) * 0.5f;
        return x > 10f ? x : x >= 0 ? Math.fma(x, -q, x) : x * q;
    }

    /** P(tau) of erfc(t) = tau exp(-t^2 + P(tau)), tau = 1 / (1 + t/2) (shared with the GELU derivative). */
    static FloatVector erfcPolynomial(FloatVector tau) {
        FloatVector p = FloatVector.broadcast(FS, P9);
        p = p.fma(tau, FloatVector.broadcast(FS, P8));
        p = p.fma(tau, FloatVector.broadcast(FS, P7));
        p = p.fma(tau, FloatVector.broadcast(FS, P6));
        p = p.fma(tau, FloatVector.broadcast(FS, P5));
        p = p.fma(tau, FloatVector.broadcast(FS, P4));
        p = p.fma(tau, FloatVector.broadcast(FS, P3));
        p = p.fma(tau, FloatVector.broadcast(FS, P2));
        p = p.fma(tau, FloatVector.broadcast(FS, P1));
        p = p.fma(tau, FloatVector.broadcast(FS, P0));
        return p;
    }

    static FloatVector gelu(FloatVector x) {
        FloatVector t = x.abs().mul(INV_SQRT2);
        FloatVector tau = FloatVector.broadcast(FS, 1f).div(t.fma(0.5f, 1f));
        FloatVector p = erfcPolynomial(tau);
        // exp(y), y = P(tau) - t^2 <= ~0, clamped at -80 (q stays a normal float; exp(-80) ~ 1.8e-35 is as good as 0)
        FloatVector y = p.sub(t.mul(t)).max(-80f);
        FloatVector q = exp(y).mul(tau).mul(0.5f);
        FloatVector xq = x.mul(q);
        FloatVector pos = x.fma(q.neg(), x);
        // x > 10: q < 1e-23, gelu(x) == x in float (also maps +inf to +inf instead of inf - inf*0)
        return pos.blend(xq, x.compare(VectorOperators.LT, 0f)).blend(x, x.compare(VectorOperators.GT, 10f));
    }

    /**
     * exp(y) for -87.3 <= y <= 88 (Cephes expf: n = round(y/ln2) by the 1.5*2^23 shifter trick,
     * Cody-Waite reduction r = y - n ln2, degree-6 polynomial, scale 2^n built in the exponent bits).
     * Relative error about 1 ulp. The Vector API's EXP (a library call per vector) was 10x slower.
     */
    static FloatVector exp(FloatVector y) {
        FloatVector z = y.fma(FloatVector.broadcast(FS, LOG2E), FloatVector.broadcast(FS, SHIFTER));
        FloatVector n = z.sub(SHIFTER);
        FloatVector r = n.fma(FloatVector.broadcast(FS, -LN2_HI), y);
        r = n.fma(FloatVector.broadcast(FS, -LN2_LO), r);
        FloatVector e = FloatVector.broadcast(FS, E0);
        e = e.fma(r, FloatVector.broadcast(FS, E1));
        e = e.fma(r, FloatVector.broadcast(FS, E2));
        e = e.fma(r, FloatVector.broadcast(FS, E3));
        e = e.fma(r, FloatVector.broadcast(FS, E4));
        e = e.fma(r, FloatVector.broadcast(FS, E5));
        e = e.fma(r.mul(r), r).add(1f);
        // bits(z) = 0x4B400000 + n; its low 9 bits shifted into the exponent field give 2^n
        IntVector scale = IntVector.broadcast(IS, 127).add(z.reinterpretAsInts()).lanewise(VectorOperators.LSHL, 23);
        return e.mul(scale.reinterpretAsFloats());
    }
}
