package io.vitq.calib;

import io.vitq.quant.Granularity;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Parallel;

import java.util.Arrays;

/**
 * One table of 2^k levels for a Linear's weight, with a step per row (docs/LOWBIT.md section 1.2):
 * Lloyd's k-means on the rows divided by their steps, alternating with each row's least-squares
 * step, then the levels rounded onto the signed 8-bit grid of the largest one, so that each weight
 * is an int8 code times its row's step and runs on the integer kernels as it is.
 * <ul>
 *   <li>Start: each row's step its max |w|, the levels the quantiles {@code (j + 1/2) / 2^k} of all
 *       the scaled weights [INFERRED].</li>
 *   <li>{@link #ITERATIONS} rounds of: each weight to its nearest level (a tie to the lower), each
 *       level the mean of its weights (a level no weight chose stays), each row's step
 *       {@code s = sum w l / sum l^2} over its weights' levels l.</li>
 *   <li>The levels times {@code 127 / max |level|} rounded to integers (two that meet merge; a table
 *       that does not reach both sides of 0 has its level nearest 0 set to 0), the steps times
 *       {@code max |level| / 127}. A row of zeros keeps a step of {@link #ZERO_ROW_STEP}.</li>
 * </ul>
 */
final class WeightLevelFit {
    private WeightLevelFit() {}

    /** Rounds of assignment and update (the error changes by less than 0.1 % after about ten on ViT-Ti's Linears). */
    static final int ITERATIONS = 20;
    /** The step of an all-zero row: any positive step codes it as zeros' nearest level times almost nothing. */
    static final float ZERO_ROW_STEP = 1e-30f;

    /** The levelled weight operand of {@code w [out, in]} at {@code bits}-bit indices, one step per output row. */
    static UniformOperand fit(String opId, float[] w, int out, int in, int bits) {
        int k = 1 << bits;
        double[] step = new double[out];
        for (int r = 0; r < out; r++) {
            double m = 0;
            for (int c = 0; c < in; c++) m = Math.max(m, Math.abs(w[r * in + c]));
            step[r] = m;
        }
        double[] u = new double[out * in];
        scaled(w, out, in, step, u);
        double[] sorted = u.clone();
        Arrays.sort(sorted);
        double[] level = new double[k];
        for (int j = 0; j < k; j++) {
            double pos = (j + 0.5) / k * (sorted.length - 1);
            int a = (int) pos, b = Math.min(a + 1, sorted.length - 1);
            level[j] = sorted[a] + (pos - a) * (sorted[b] - sorted[a]);
        }
        int[] nearest = new int[u.length];
        for (int it = 0; it < ITERATIONS; it++) {
            // the assignments in parallel, the sums in the values' order (so the result does not depend on the threads)
            Parallel.forRange(u.length, (from, to) -> {
                for (int i = from; i < to; i++) nearest[i] = nearest(level, u[i]);
            });
            double[] sum = new double[k];
            int[] count = new int[k];
            for (int i = 0; i < u.length; i++) {
                sum[nearest[i]] += u[i];
                count[nearest[i]]++;
            }
            for (int j = 0; j < k; j++) if (count[j] > 0) level[j] = sum[j] / count[j];
            Arrays.sort(level);
            Parallel.forRange(out, (from, to) -> {
                for (int r = from; r < to; r++) {
                    if (step[r] == 0) continue;
                    double wl = 0, ll = 0;
                    for (int c = 0; c < in; c++) {
                        double l = level[nearest(level, w[r * in + c] / step[r])];
                        wl += w[r * in + c] * l;
                        ll += l * l;
                    }
                    if (wl > 0 && ll > 0) step[r] = wl / ll;
                }
            });
            scaled(w, out, in, step, u);
        }
        double max = 0;
        for (double l : level) max = Math.max(max, Math.abs(l));
        if (max == 0) throw new IllegalArgumentException(opId + ": an all-zero weight has no levels to fit");
        int[] codes = gridLevels(level, max);
        float[] steps = new float[out];
        for (int r = 0; r < out; r++) steps[r] = step[r] == 0 ? ZERO_ROW_STEP : (float) (step[r] * max / 127);
        return UniformOperand.withLevels(bits, Granularity.PER_OUTPUT_CHANNEL, steps, codes);
    }

    /** {@code u = w / step} row by row (a zero row's values stay 0). */
    private static void scaled(float[] w, int out, int in, double[] step, double[] u) {
        for (int r = 0; r < out; r++)
            for (int c = 0; c < in; c++) u[r * in + c] = step[r] == 0 ? 0 : w[r * in + c] / step[r];
    }

    /** The levels on the 8-bit grid of the largest: distinct, ascending, around 0. */
    static int[] gridLevels(double[] level, double max) {
        int[] codes = Arrays.stream(level).mapToInt(l -> (int) Math.rint(l / max * 127)).distinct().sorted().toArray();
        if (codes[0] > 0 || codes[codes.length - 1] < 0) {
            int nearest = codes[0] > 0 ? 0 : codes.length - 1;
            codes[nearest] = 0;
            codes = Arrays.stream(codes).distinct().sorted().toArray();
        }
        return codes;
    }

    /** The index of the level nearest v in ascending {@code level} (a tie to the lower). */
    static int nearest(double[] level, double v) {
        int i = Arrays.binarySearch(level, v);
        if (i >= 0) return i;
        int ins = -i - 1;
        if (ins == 0) return 0;
        if (ins == level.length) return level.length - 1;
        return v - level[ins - 1] <= level[ins] - v ? ins - 1 : ins;
    }
}
