package io.vitq.calib;

import io.vitq.quant.LogSqrt2Operand;
import io.vitq.quant.LogSqrt2OperandTest;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * RepQ-ViT's choice of the log-sqrt2 δ against the rule written the slow way: quantiles by
 * {@code numpy.percentile}'s formula on a sorted copy, each candidate's mean squared error with
 * RepQ-ViT's quantize formula in double, the least error winning.
 */
class LogSoftmaxFitTest {

    @Test
    void quantileInterpolatesBetweenOrderStatistics() {
        float[] s = {1f, 2f, 3f, 4f, 10f};
        assertEquals(3f, LogSoftmaxFit.quantile(s, 0.5));
        assertEquals(4f + 0.96f * 6f, LogSoftmaxFit.quantile(s, 0.99), 1e-6);
        assertEquals(10f, LogSoftmaxFit.quantile(s, 1.0));
        assertEquals(1f, LogSoftmaxFit.quantile(s, 0.0));
    }

    /** Softmax rows of random logits: the fit's δ is the slow rule's, for 3, 4 and 6 bits. */
    @Test
    void deltaIsTheLeastSquaredErrorPercentile() {
        SplittableRandom r = new SplittableRandom(5);
        int rows = 400, cols = 197;
        float[] p = new float[rows * cols];
        for (int i = 0; i < rows; i++) {
            double[] e = new double[cols];
            double sum = 0, sharp = 1 + 4 * r.nextDouble();
            for (int j = 0; j < cols; j++) sum += e[j] = Math.exp(sharp * r.nextGaussian());
            for (int j = 0; j < cols; j++) p[i * cols + j] = (float) (e[j] / sum);
        }
        float[] sorted = p.clone();
        java.util.Arrays.sort(sorted);
        for (int bits : new int[] {3, 4, 6}) {
            double best = Double.POSITIVE_INFINITY;
            float want = Float.NaN;
            for (double pct : new double[] {0.999, 0.9999, 0.99999}) {
                double h = (sorted.length - 1) * pct;
                int lo = (int) h;
                float delta = (float) (sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]));
                double err = 0;
                for (float x : p) {
                    double d = LogSqrt2OperandTest.reference(x, bits, delta) - x;
                    err += d * d;
                }
                if (err < best) {
                    best = err;
                    want = delta;
                }
            }
            LogSqrt2Operand got = LogSoftmaxFit.repq("op", p, p.length, bits);
            assertEquals(want, got.delta(), bits + " bits");
            assertEquals(bits, got.bits());
        }
    }

    @Test
    void refusesAllZeroAndNonFiniteProbabilities() {
        assertThrows(IllegalArgumentException.class, () -> LogSoftmaxFit.repq("op", new float[1000], 1000, 4));
        float[] bad = new float[1000];
        bad[3] = Float.NaN;
        assertThrows(IllegalArgumentException.class, () -> LogSoftmaxFit.repq("op", bad, 1000, 4));
    }
}
