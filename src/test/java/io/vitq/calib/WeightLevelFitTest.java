package io.vitq.calib;

import io.vitq.quant.Granularity;
import io.vitq.quant.ScaledRanges;
import io.vitq.quant.UniformOperand;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The k-means fit of a Linear's table of levels ({@link WeightLevelFit}). */
class WeightLevelFitTest {

    /** A weight whose rows are exactly a step times 16 levels of the 8-bit grid: the fit finds it again. */
    @Test
    void recoversAnExactlyLevelledWeight() {
        int[] levels = {-127, -90, -64, -45, -31, -20, -11, -4, 4, 11, 20, 31, 45, 64, 90, 127};
        int out = 24, in = 80;
        SplittableRandom r = new SplittableRandom(3);
        float[] w = new float[out * in], step = new float[out];
        for (int row = 0; row < out; row++) {
            step[row] = (float) r.nextDouble(0.001, 0.01);
            for (int c = 0; c < in; c++) {
                int level = levels[(c * 7 + row) % levels.length];   // every row holds every level five times
                w[row * in + c] = level * step[row];
            }
        }
        UniformOperand q = WeightLevelFit.fit("op", w, out, in, 4);
        assertArrayEquals(levels, q.levels());
        assertEquals(Granularity.PER_OUTPUT_CHANNEL, q.granularity());
        for (int row = 0; row < out; row++) assertEquals(step[row], q.scale(row), step[row] * 1e-5f, "row " + row);
        float[] fq = new float[w.length];
        ScaledRanges.fakeQuantRows(q, "op", w, out, in, fq);
        for (int i = 0; i < w.length; i++) assertEquals(w[i], fq[i], Math.abs(w[i]) * 1e-5f + 1e-12f);
    }

    /**
     * On bell-shaped rows of different widths the 16 fitted levels lose less than a uniform 4-bit grid
     * with each row's best step (found by scanning 400 steps), and the table is an 8-bit one around 0.
     */
    @Test
    void beatsTheBestUniformGridOnGaussianRows() {
        int out = 32, in = 192;
        SplittableRandom r = new SplittableRandom(9);
        float[] w = new float[out * in];
        for (int row = 0; row < out; row++) {
            double width = r.nextDouble(0.01, 0.05);
            for (int c = 0; c < in; c++) w[row * in + c] = (float) (r.nextGaussian() * width);
        }
        UniformOperand q = WeightLevelFit.fit("op", w, out, in, 4);
        int[] lv = q.levels();
        assertTrue(lv.length == 16 && lv[0] < 0 && lv[15] > 0 && Math.max(-lv[0], lv[15]) == 127, java.util.Arrays.toString(lv));
        float[] fq = new float[w.length];
        ScaledRanges.fakeQuantRows(q, "op", w, out, in, fq);
        double levelled = 0, uniform = 0;
        for (int i = 0; i < w.length; i++) levelled += (w[i] - fq[i]) * (double) (w[i] - fq[i]);
        for (int row = 0; row < out; row++) {
            double max = 0, best = Double.POSITIVE_INFINITY;
            for (int c = 0; c < in; c++) max = Math.max(max, Math.abs(w[row * in + c]));
            for (int k = 1; k <= 400; k++) {
                double s = max / 8 * k / 400.0, e = 0;
                for (int c = 0; c < in; c++) {
                    double v = w[row * in + c], code = Math.max(-8, Math.min(7, Math.rint(v / s)));
                    e += (v - code * s) * (v - code * s);
                }
                best = Math.min(best, e);
            }
            uniform += best;
        }
        assertTrue(levelled < 0.9 * uniform, "levels " + levelled + " against the best uniform grid " + uniform);
    }

    /** A row of zeros keeps a tiny step and quantizes to (nearly) zero; the other rows are unaffected. */
    @Test
    void aZeroRowGetsTheTinyStep() {
        int out = 4, in = 64;
        SplittableRandom r = new SplittableRandom(1);
        float[] w = new float[out * in];
        for (int i = in; i < w.length; i++) w[i] = (float) r.nextGaussian();
        UniformOperand q = WeightLevelFit.fit("op", w, out, in, 3);
        assertEquals(WeightLevelFit.ZERO_ROW_STEP, q.scale(0), 0f);
        float[] fq = new float[w.length];
        ScaledRanges.fakeQuantRows(q, "op", w, out, in, fq);
        for (int c = 0; c < in; c++) assertTrue(Math.abs(fq[c]) <= 127 * WeightLevelFit.ZERO_ROW_STEP);
    }

    @Test
    void aTableOnOneSideOfZeroGetsZero() {
        assertArrayEquals(new int[] {0, 64, 127}, WeightLevelFit.gridLevels(new double[] {0.1, 0.5, 1.0}, 1.0));
        assertArrayEquals(new int[] {-127, -64, 0}, WeightLevelFit.gridLevels(new double[] {-1.0, -0.5, -0.1}, 1.0));
        assertArrayEquals(new int[] {-127, 0, 127}, WeightLevelFit.gridLevels(new double[] {-1.0, 0.001, 0.002, 1.0}, 1.0),
                "levels that meet on the grid merge");
    }
}
