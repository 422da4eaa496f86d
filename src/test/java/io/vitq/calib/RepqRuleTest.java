package io.vitq.calib;

import io.vitq.quant.AsymmetricOperand;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * RepQ-ViT's percentile rule on vitq's symmetric and asymmetric kinds, against the rule written out
 * the slow way (quantiles by numpy's formula, errors with the grid's formula in double).
 */
class RepqRuleTest {

    /** The slow rule: each percentile's symmetric reach, its scale, its squared error; the least wins (first on ties). */
    static float slowSymmetric(float[] values, int bits) {
        float[] v = values.clone();
        java.util.Arrays.sort(v);
        float best = Float.NaN;
        double bestErr = Double.POSITIVE_INFINITY;
        for (double p : new double[] {0.999, 0.9999, 0.99999}) {
            double hi = pct(v, p), lo = pct(v, 1 - p);
            float s = (float) Math.max(hi, -lo) / ((1 << (bits - 1)) - 0.5f);
            double err = 0;
            for (float x : values) {
                double code = Math.max(-(1 << (bits - 1)), Math.min((1 << (bits - 1)) - 1, Math.rint(x / s)));
                double d = x - (float) (code * s);
                err += d * d;
            }
            if (err < bestErr) {
                bestErr = err;
                best = s;
            }
        }
        return best;
    }

    static double pct(float[] sorted, double p) {
        double h = (sorted.length - 1) * p;
        int lo = (int) Math.floor(h);
        return sorted[lo] + (h - lo) * ((double) sorted[Math.min(lo + 1, sorted.length - 1)] - sorted[lo]);
    }

    @Test
    void symmetricScaleIsTheSlowRulesChoice() {
        SplittableRandom r = new SplittableRandom(3);
        for (int bits : new int[] {3, 4, 6, 8}) {
            for (int outliers : new int[] {0, 3, 40}) {
                float[] v = new float[20000];
                for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian();
                for (int i = 0; i < outliers; i++) v[r.nextInt(v.length)] = (float) (30 * r.nextGaussian());
                float want = slowSymmetric(v, bits);
                assertEquals(want, RepqRule.symmetricScale("op", v.clone(), bits), "bits " + bits + " outliers " + outliers);
            }
        }
        assertThrows(IllegalArgumentException.class, () -> RepqRule.symmetricScale("op", new float[] {1f, Float.NaN}, 4));
    }

    /** All-positive values: RepQ-ViT's zero point round(-lo / step) is negative; clamped to 0, the step kept. */
    @Test
    void asymmetricZeroPointClampedIntoTheCodes() {
        float[] v = new float[5000];
        SplittableRandom r = new SplittableRandom(4);
        for (int i = 0; i < v.length; i++) v[i] = (float) (2 + r.nextDouble());
        NormFolds.ChannelQuant c = NormFolds.channel("op", 0, v.clone(), 4);
        AsymmetricOperand a = RepqRule.asymmetric("op", v.clone(), 4);
        assertEquals(c.scale(), a.scale());
        assertEquals(0, a.zeroPoint());
        assertEquals(true, c.zeroPoint() < 0, "the rule's own zero point " + c.zeroPoint());
        float[] mixed = {-1f, -0.5f, 0f, 0.5f, 2f, 3f};
        NormFolds.ChannelQuant m = NormFolds.channel("op", 0, mixed.clone(), 4);
        assertEquals(m.zeroPoint(), RepqRule.asymmetric("op", mixed.clone(), 4).zeroPoint(), "inside the codes: unchanged");
    }

    /**
     * The weights: below 8 bits each row's step and zero point by the rule (asymmetric, as RepQ-ViT),
     * at 8 bits each row's symmetric scale (codes relative to a zero point would not fit a byte).
     */
    @Test
    void weightsAreAsymmetricPerRowBelowEightBits() {
        SplittableRandom r = new SplittableRandom(5);
        int in = 40, out = 6, rows = 10;
        float[] w = new float[out * in], x = new float[rows * in];
        for (int i = 0; i < w.length; i++) w[i] = (float) (r.nextGaussian() + (i / in == 2 ? 1.5 : 0));   // row 2 off centre
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        io.vitq.model.Linear op = new io.vitq.model.Linear("blocks.0.attn.proj", w, null, out, in);
        io.vitq.quant.UniformOperand w4 = RepqRule.linear(op, x, rows, CalibConfig.repq(4, 4), null, false).weight();
        for (int j = 0; j < out; j++) {
            NormFolds.ChannelQuant c = NormFolds.channel("op", j, java.util.Arrays.copyOfRange(w, j * in, (j + 1) * in), 4);
            assertEquals(c.scale(), w4.scale(j), "row " + j);
            assertEquals(Math.max(0, Math.min(15, c.zeroPoint())), w4.zeroPoint(j), "row " + j);
        }
        assertEquals(true, w4.zeroPoint(2) < 6, "the off-centre row's zero point " + w4.zeroPoint(2));
        io.vitq.quant.UniformOperand w8 = RepqRule.linear(op, x, rows, CalibConfig.repq(8, 8), null, false).weight();
        assertEquals(false, w8.asymmetric());
        for (int j = 0; j < out; j++)
            assertEquals(RepqRule.symmetricScale("op", java.util.Arrays.copyOfRange(w, j * in, (j + 1) * in), 8), w8.scale(j));
    }
}
