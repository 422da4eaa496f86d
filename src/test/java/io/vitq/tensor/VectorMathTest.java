package io.vitq.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/**
 * {@link VectorMath#exp} against float64 {@link StrictMath#exp} over its whole documented range
 * [-87.3, 88] (the softmax and GELU kernels rely on it). (GELU is tested in GemmTest.)
 */
class VectorMathTest {
    static final double U = 0x1p-24;
    /**
     * Relative error bound, from float32 rounding: r = y - n ln2 in two FMAs (n LN2_HI is exact,
     * so r rounds once: |dr| <= U |r| <= 0.35 U, and exp(r + dr) = exp(r)(1 + dr)); the split
     * LN2_HI + LN2_LO misses ln 2 by under 1e-11, times |n| <= 127: below 0.01 U; the degree-6
     * polynomial's truncation error on |r| <= ln2/2 is 0.05 U (evaluated in double); its Horner
     * FMAs and r*r carry the factor r^2 <= 0.12: below 0.2 U; fma(r^2, p, r) rounds once on a value
     * |e - 1| <= 0.42 with e >= 0.70: 0.6 U; adding 1 rounds once: U; the scale by 2^n is exact.
     * Sum: 2.21 U, so 2.5 U.
     */
    static final double BOUND = 2.5 * U;

    private static double worst;

    private static void check(float[] y) {
        float[] e = new float[16];
        float[] in = new float[16];
        for (int i = 0; i < y.length; i += 16) {
            int len = Math.min(16, y.length - i);
            java.util.Arrays.fill(in, 0f);
            System.arraycopy(y, i, in, 0, len);
            VectorMath.exp(FloatVector.fromArray(FloatVector.SPECIES_512, in, 0)).intoArray(e, 0);
            for (int l = 0; l < len; l++) {
                double ref = StrictMath.exp(in[l]);
                double err = Math.abs(e[l] - ref);
                if (!(err <= BOUND * ref)) {
                    fail("exp(" + in[l] + ") = " + e[l] + " expected " + ref + " (relative error " + err / ref / U + " U)");
                }
                worst = Math.max(worst, err / ref / U);
            }
        }
    }

    @Test
    void wholeRangeWithinTwoAndAHalfRoundings() {
        worst = 0;
        // a dense grid over [-87.3, 88]: 2,000,003 points
        int len = 2_000_003;
        float[] y = new float[len];
        for (int i = 0; i < len; i++) y[i] = (float) (-87.3 + 175.3 * i / (len - 1));
        check(y);
        // every float in [-1, 1] with the low 12 mantissa bits zero (r near 0, n = 0 and +-1)
        float[] near = new float[2 * (127 << 11) + 1];
        int k = 0;
        for (int bits = Float.floatToRawIntBits(1f); bits > 0 && k < near.length / 2; bits -= 1 << 12) {
            near[k++] = Float.intBitsToFloat(bits);
            near[k++] = -Float.intBitsToFloat(bits);
        }
        check(java.util.Arrays.copyOf(near, k));
        // around every multiple of ln2/2 (where n changes), and the ends of the range
        float[] edges = new float[3 * 507 + 8];
        k = 0;
        for (int m = -252; m <= 254; m++) {
            float c = (float) (m * Math.log(2) / 2);
            if (c < -87.3f || c > 88f) continue;
            edges[k++] = c;
            edges[k++] = Math.nextUp(c);
            edges[k++] = Math.nextDown(c);
        }
        for (float f : new float[] {-87.3f, Math.nextUp(-87.3f), 88f, Math.nextDown(88f), 0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE}) {
            edges[k++] = f;
        }
        check(java.util.Arrays.copyOf(edges, k));
        SplittableRandom r = new SplittableRandom(4);
        float[] rnd = new float[100_000];
        for (int i = 0; i < rnd.length; i++) rnd[i] = (float) r.nextDouble(-87.3, 88);
        check(rnd);
        System.out.println("VectorMath.exp: worst relative error " + worst + " U (bound " + BOUND / U + " U)");
    }

    @Test
    void exactAtZero() {
        // n = 0, r = 0: e = fma(0, p, 0) + 1, exactly 1 in every lane (softmax's maximum element relies on it)
        float[] e = new float[16];
        VectorMath.exp(FloatVector.zero(FloatVector.SPECIES_512)).intoArray(e, 0);
        for (float v : e) assertEquals(1f, v);
    }
}
