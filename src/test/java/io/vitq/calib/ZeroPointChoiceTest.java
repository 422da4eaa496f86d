package io.vitq.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/**
 * {@link ZeroPointChoice} against the definition restated: every zero point's squared weight error
 * summed weight by weight, the least taken, ties to the symmetric grid's 2^(k-1).
 */
class ZeroPointChoiceTest {

    /** The direct definition: each z's error, weight by weight. */
    private static double[] errors(float[] w, int[] rows, int in, double step, int bits) {
        int top = (1 << bits) - 1;
        double[] err = new double[top + 1];
        for (int z = 0; z <= top; z++)
            for (int r : rows)
                for (int k = r * in; k < (r + 1) * in; k++) {
                    double v = w[k], d = v - Math.min(Math.max(Math.rint(v / step), -z), top - z) * step;
                    err[z] += d * d;
                }
        return err;
    }

    /** The least error's zero point, ties to the one nearest 2^(k-1). */
    private static int argmin(double[] err, int bits) {
        int mid = 1 << (bits - 1), best = mid;
        for (int z = 0; z < err.length; z++)
            if (err[z] < err[best] || (err[z] == err[best] && Math.abs(z - mid) < Math.abs(best - mid))) best = z;
        return best;
    }

    @Test
    void choosesTheZeroPointOfLeastErrorAtEveryWidthAndStep() {
        SplittableRandom rnd = new SplittableRandom(11);
        int in = 96, out = 5, cases = 0, offCentre = 0, choiceMatters = 0;
        for (int bits = 2; bits <= 8; bits++) {
            ZeroPointChoice choice = new ZeroPointChoice(bits);
            for (int trial = 0; trial < 40; trial++) {
                float[] w = new float[out * in];
                double skew = rnd.nextDouble(-0.05, 0.05);
                for (int i = 0; i < w.length; i++) {
                    double v = rnd.nextGaussian() * 0.05 + skew;
                    if (rnd.nextInt(50) == 0) v *= rnd.nextDouble(3, 12);   // outliers, mostly one-sided with the skew
                    w[i] = (float) v;
                }
                int[] rows = trial % 3 == 0 ? new int[] {0, 2, 4} : new int[] {trial % out};
                double maxAbs = 0;
                for (int r : rows) for (int k = r * in; k < (r + 1) * in; k++) maxAbs = Math.max(maxAbs, Math.abs(w[k]));
                // from a step that clips most weights to one that clips none
                double step = maxAbs / ((1 << (bits - 1)) - 0.5) * Math.pow(2, rnd.nextDouble(-4, 1.5));
                double[] err = errors(w, rows, in, step, bits);
                int chosen = choice.best(w, rows, in, step), expected = argmin(err, bits);
                double least = err[expected];
                // the suffix sums' rounding reaches about eps times h^2 (h up to 255) of the clipped weights' error
                assertTrue(err[chosen] <= least * (1 + 1e-9) + 1e-300,
                        bits + " bits, trial " + trial + ": zero point " + chosen + " error " + err[chosen] + " > " + least + " at " + expected);
                cases++;
                if (chosen != (1 << (bits - 1))) offCentre++;
                if (err[0] != err[(1 << bits) - 1]) choiceMatters++;
            }
        }
        assertTrue(offCentre > cases / 4, "zero points off the symmetric grid: " + offCentre + " of " + cases);
        assertTrue(choiceMatters > cases / 2, "cases where the choice matters: " + choiceMatters + " of " + cases);
    }

    @Test
    void tiesGoToTheSymmetricGrid() {
        int[] row = {0};
        // all zeros: every zero point gives error 0
        assertEquals(8, new ZeroPointChoice(4).best(new float[16], row, 16, 0.1));
        // codes -1, 0, 1: clipped at z = 0 (the -1) and z = 15 (the 1), by no zero point from 1 to 14: z = 8 among the equals
        float[] small = {0.1f, -0.1f, 0.04f, 0f};
        assertEquals(8, new ZeroPointChoice(4).best(small, row, 4, 0.1));
        // weights only above zero and large: the grid moves down, all codes positive
        float[] high = {1.5f, 1.4f, 1.3f, 1.45f};
        assertEquals(0, new ZeroPointChoice(4).best(high, row, 4, 0.1));
        // only below zero and large: the grid moves up
        float[] low = {-1.5f, -1.4f, -1.3f, -1.45f};
        assertEquals(15, new ZeroPointChoice(4).best(low, row, 4, 0.1));
    }
}
