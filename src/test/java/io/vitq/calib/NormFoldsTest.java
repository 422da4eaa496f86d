package io.vitq.calib;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** RepQ-ViT's per-channel range choice ({@link NormFolds}) against its definition written out. */
class NormFoldsTest {

    /** torch.quantile(torch.tensor([1., 2., 3., 4.]), q) = 1 + 3q (linear interpolation). */
    @Test
    void quantileInterpolatesLikeTorch() {
        float[] v = {1, 2, 3, 4};
        assertEquals(3.997, NormFolds.quantile(v, 0.999), 1e-12);
        assertEquals(1.003, NormFolds.quantile(v, 0.001), 1e-12);
        assertEquals(4.0, NormFolds.quantile(v, 1.0), 0);
        assertEquals(7.0, NormFolds.quantile(new float[] {7}, 0.99999), 0);
    }

    /**
     * The chosen quantizer is, of the three percentile ranges, the one of least squared error, each
     * error summed here in a loop of its own; with one far outlier among 20,000 values the clipped
     * ranges win at 4 bits (at 6 and more the fine grid's error is smaller than the clipped outlier's).
     */
    @Test
    void choosesTheRangeOfLeastSquaredError() {
        SplittableRandom r = new SplittableRandom(3);
        for (int trial = 0; trial < 20; trial++) {
            int n = 20_000;
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = (float) (r.nextGaussian() * 0.5 + 0.3);
            if (trial % 2 == 0) v[r.nextInt(n)] = 40f; // an outlier
            int bits = 4 + trial % 5, levels = (1 << bits) - 1;
            float[] sorted = v.clone();
            java.util.Arrays.sort(sorted);
            double best = Double.POSITIVE_INFINITY;
            float bestScale = 0;
            int bestZero = 0;
            for (double p : new double[] {0.999, 0.9999, 0.99999}) {
                double hi = NormFolds.quantile(sorted, p), lo = NormFolds.quantile(sorted, 1 - p);
                float s = (float) ((hi - lo) / levels);
                int z = (int) Math.rint(-lo / s);
                double err = 0;
                for (float x : v) {
                    double q = Math.rint(x / s) + z;
                    q = q < 0 ? 0 : q > levels ? levels : q;
                    err += Math.pow(x - (q - z) * s, 2);
                }
                if (err < best) {
                    best = err;
                    bestScale = s;
                    bestZero = z;
                }
            }
            NormFolds.ChannelQuant q = NormFolds.channel("op", 0, v.clone(), bits);
            assertEquals(bestScale, q.scale(), "trial " + trial);
            assertEquals(bestZero, q.zeroPoint(), "trial " + trial);
            if (trial % 2 == 0 && bits == 4) assertTrue(q.scale() * levels < 20, "the outlier is clipped: step " + q.scale());
        }
    }

    /** A channel whose values all lie above zero gets a negative zero point (its codes still start at 0). */
    @Test
    void rangeAboveZeroHasANegativeZeroPoint() {
        float[] v = new float[1000];
        for (int i = 0; i < v.length; i++) v[i] = 2 + i / 1000f;
        NormFolds.ChannelQuant q = NormFolds.channel("op", 0, v, 8);
        assertTrue(q.zeroPoint() < -400, "zero point " + q.zeroPoint());
        assertEquals(2.0, (Math.rint(2.0 / q.scale()) + q.zeroPoint() - q.zeroPoint()) * q.scale(), q.scale() / 2);
    }

    /** Constant channels (zero included) get a finite positive step and represent their value. */
    @Test
    void constantChannels() {
        for (float c : new float[] {0f, 1.5f, -3f, 1e-30f}) {
            float[] v = new float[100];
            java.util.Arrays.fill(v, c);
            NormFolds.ChannelQuant q = NormFolds.channel("op", 0, v, 4);
            assertTrue(q.scale() > 0 && Float.isFinite(q.scale()), c + ": step " + q.scale());
            double code = Math.min(Math.max(Math.rint(c / q.scale()) + q.zeroPoint(), 0), 15);
            assertEquals(c, (code - q.zeroPoint()) * q.scale(), Math.abs(c) * 1e-6 + 1e-30, c + " represented");
        }
    }

    @Test
    void nonFiniteInputIsAnErrorNamingTheOp() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NormFolds.channel("blocks.0.attn.qkv", 5, new float[] {1, Float.NaN}, 8));
        assertTrue(e.getMessage().contains("blocks.0.attn.qkv") && e.getMessage().contains("channel 5"), e.getMessage());
    }
}
