package io.vitq.calib;

import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The k-means fit of a Linear's table of code pairs ({@link WeightPairFit}). */
class WeightPairFitTest {

    /** Rows of width-varying Gaussian pairs, neighbouring columns correlated by {@code rho}. */
    static float[] pairedRows(int out, int in, double rho, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] w = new float[out * in];
        for (int row = 0; row < out; row++) {
            double width = r.nextDouble(0.01, 0.05);
            for (int c = 0; c < in; c += 2) {
                double a = r.nextGaussian(), b = rho * a + Math.sqrt(1 - rho * rho) * r.nextGaussian();
                w[row * in + c] = (float) (a * width);
                w[row * in + c + 1] = (float) (b * width);
            }
        }
        return w;
    }

    static double squaredError(UniformOperand q, float[] w, int out, int in) {
        float[] fq = new float[w.length];
        ScaledRanges.fakeQuantRows(q, "op", w, out, in, fq);
        double e = 0;
        for (int i = 0; i < w.length; i++) e += (w[i] - fq[i]) * (double) (w[i] - fq[i]);
        return e;
    }

    /**
     * Where neighbouring weights are correlated (0.8) the 256 pairs lose a fifth less squared error than the 16
     * levels they start from (0.72 of it when written; a product grid wastes its corners); on independent ones
     * they lose no more.
     */
    @Test
    void beatsTheLevelsOnCorrelatedPairsAndMatchesThemOnIndependentOnes() {
        int out = 32, in = 192;
        float[] correlated = pairedRows(out, in, 0.8, 9), independent = pairedRows(out, in, 0, 10);
        double pairs = squaredError(WeightPairFit.fit("op", correlated, out, in, 4), correlated, out, in);
        double levels = squaredError(WeightLevelFit.fit("op", correlated, out, in, 4), correlated, out, in);
        assertTrue(pairs < 0.8 * levels, "pairs " + pairs + " against levels " + levels);
        pairs = squaredError(WeightPairFit.fit("op", independent, out, in, 4), independent, out, in);
        levels = squaredError(WeightLevelFit.fit("op", independent, out, in, 4), independent, out, in);
        assertTrue(pairs <= 1.01 * levels, "pairs " + pairs + " against levels " + levels);
    }

    /** The table is distinct pairs of the 8-bit grid reaching 127, at most 2^(2k); steps are per output row; the fit is deterministic. */
    @Test
    void theTableIsOnTheEightBitGrid() {
        int out = 24, in = 64;
        float[] w = pairedRows(out, in, 0.5, 4);
        for (int bits : new int[] {2, 3, 4}) {
            UniformOperand q = WeightPairFit.fit("op", w, out, in, bits);
            assertTrue(q.hasPairs() && q.bits() == bits && q.scaleCount() == out, q.toString());
            assertTrue(q.pairs().size() <= 1 << (2 * bits) && q.pairs().size() > (1 << (2 * bits)) / 2, q.pairs().size() + " pairs");
            assertEquals(127, q.maxAbsCode(), "the largest coordinate on the grid's end");
            assertEquals(q, WeightPairFit.fit("op", w, out, in, bits), "deterministic");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> WeightPairFit.fit("blocks.0.attn.qkv", new float[3 * 5], 3, 5, 4));
        assertTrue(e.getMessage().contains("blocks.0.attn.qkv") && e.getMessage().contains("even number"), e.getMessage());
    }
}
