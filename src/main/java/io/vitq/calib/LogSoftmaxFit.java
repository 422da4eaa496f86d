package io.vitq.calib;

import io.vitq.quant.LogSqrt2Operand;
import io.vitq.tensor.Parallel;

import java.util.Arrays;

/**
 * The δ of a {@link LogSqrt2Operand} for recorded softmax probabilities, by RepQ-ViT's rule
 * (docs/LOWBIT.md section 3.2): the candidates are the 0.999, 0.9999 and 0.99999 quantiles of all
 * the values (linear interpolation between order statistics, as {@code torch.quantile}), and the
 * one of least mean squared quantization error wins (the first on a tie). No output, metric or
 * gradient enters: the probabilities alone decide.
 */
final class LogSoftmaxFit {
    private LogSoftmaxFit() {}

    static LogSqrt2Operand repq(String opId, float[] x, int len, int bits) {
        float[] sorted = Arrays.copyOf(x, len);
        Arrays.parallelSort(sorted);
        if (!Float.isFinite(sorted[0]) || !Float.isFinite(sorted[len - 1]))
            throw new IllegalArgumentException(opId + ": the probabilities hold non-finite values");
        LogSqrt2Operand best = null;
        double bestError = Double.POSITIVE_INFINITY;
        for (double p : NormFolds.PERCENTILES) {
            float delta = quantile(sorted, p);
            if (!(delta > 0)) continue; // all but a few probabilities zero: that quantile cannot be a scale
            LogSqrt2Operand q = new LogSqrt2Operand(bits, delta);
            double e = meanSquaredError(opId, q, x, len);
            if (e < bestError) {
                bestError = e;
                best = q;
            }
        }
        if (best == null) throw new IllegalArgumentException(opId + ": the probabilities' upper quantiles are all zero");
        return best;
    }

    /** {@code torch.quantile(x, p)} of sorted values, in float. */
    static float quantile(float[] sorted, double p) { return (float) NormFolds.quantile(sorted, p); }

    static double meanSquaredError(String opId, LogSqrt2Operand q, float[] x, int len) {
        final int chunk = 1 << 16;
        int chunks = (len + chunk - 1) / chunk;
        double[] part = new double[chunks];
        Parallel.forEach(chunks, c -> {
            int off = c * chunk, n = Math.min(chunk, len - off);
            float[] y = new float[n];
            q.fakeQuant(opId, 0, x, off, y, 0, n);
            double s = 0;
            for (int i = 0; i < n; i++) {
                double d = (double) y[i] - x[off + i];
                s += d * d;
            }
            part[c] = s;
        });
        double s = 0;
        for (double v : part) s += v;
        return s / len;
    }
}
