package io.vitq.calib;

import io.vitq.quant.CodePairs;
import io.vitq.quant.Granularity;
import io.vitq.quant.PairSearch;
import io.vitq.quant.UniformOperand;
import io.vitq.tensor.Parallel;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * One table of 2^(2k) code pairs for a Linear's weight, with a step per row (docs/LOWBIT.md section
 * 1.3): k-means in two dimensions on the pairs of neighbouring columns {@code (w_2m, w_2m+1)}, each
 * row divided by its step, then the centroids rounded onto the signed 8-bit grid of the largest
 * coordinate, so that each weight is again an int8 code times its row's step.
 * <ul>
 *   <li>Start: the 2^k levels and steps of {@link WeightLevelFit}, the centroids their product grid
 *       (every pair of two levels), so that the first assignment is that fit's rounding.</li>
 *   <li>{@link #ITERATIONS} rounds of: each pair to its nearest centroid (a tie to the lower index),
 *       each centroid the mean of its pairs (one no pair chose stays). The steps stay the levels'.</li>
 *   <li>The centroids times {@code 127 / max |coordinate|} rounded to integers (pairs that meet merge),
 *       the steps times {@code max / 127}.</li>
 * </ul>
 * GPTVQ (van Baalen et al., 2024) fits such tables per block of columns with GPTQ's error feedback
 * inside the fit; this fit is one table per Linear on the weights alone, and GPTQ then rounds to it
 * ({@link Gptq}) [vitq].
 */
final class WeightPairFit {
    private WeightPairFit() {}

    /** Rounds of assignment and update, as {@link WeightLevelFit#ITERATIONS}. */
    static final int ITERATIONS = 20;

    /** The paired weight operand of {@code w [out, in]} ({@code in} even) at {@code bits} bits a weight, one step per output row. */
    static UniformOperand fit(String opId, float[] w, int out, int in, int bits) {
        if (in % 2 != 0) throw new IllegalArgumentException(opId + ": pairs of columns need an even number of them, got " + in);
        UniformOperand levelled = WeightLevelFit.fit(opId, w, out, in, bits);
        int[] levels = levelled.levels();
        int k = levels.length * levels.length;
        double[] c0 = new double[k], c1 = new double[k];
        for (int a = 0; a < levels.length; a++)
            for (int b = 0; b < levels.length; b++) {
                c0[a * levels.length + b] = levels[a];
                c1[a * levels.length + b] = levels[b];
            }
        int n = out * in / 2;
        double[] u0 = new double[n], u1 = new double[n];
        for (int r = 0, i = 0; r < out; r++)
            for (int c = 0; c < in; c += 2, i++) {
                u0[i] = w[r * in + c] / (double) levelled.scale(r);
                u1[i] = w[r * in + c + 1] / (double) levelled.scale(r);
            }
        int[] nearest = new int[n];
        Arrays.fill(nearest, -1);
        for (int it = 0; ; it++) {
            PairSearch centroids = new PairSearch(c0, c1);
            Parallel.forRange(n, (from, to) -> {
                for (int i = from; i < to; i++) nearest[i] = centroids.nearest(u0[i], u1[i], nearest[i]);   // the last round's as the hint
            });
            if (it == ITERATIONS) break;
            double[] s0 = new double[k], s1 = new double[k];
            int[] count = new int[k];
            for (int i = 0; i < n; i++) {
                s0[nearest[i]] += u0[i];
                s1[nearest[i]] += u1[i];
                count[nearest[i]]++;
            }
            for (int j = 0; j < k; j++)
                if (count[j] > 0) {
                    c0[j] = s0[j] / count[j];
                    c1[j] = s1[j] / count[j];
                }
        }
        double max = 0;
        for (int j = 0; j < k; j++) max = Math.max(max, Math.max(Math.abs(c0[j]), Math.abs(c1[j])));
        Set<Integer> grid = new LinkedHashSet<>();   // the rounded centroids in index order, each once, as (a + 128) 256 + b + 128
        for (int j = 0; j < k; j++) grid.add(((int) Math.rint(c0[j] / max * 127) + 128) << 8 | ((int) Math.rint(c1[j] / max * 127) + 128));
        int[] flat = new int[2 * grid.size()];
        int i = 0;
        for (int g : grid) {
            flat[i++] = (g >> 8) - 128;
            flat[i++] = (g & 0xFF) - 128;
        }
        float[] steps = new float[out];
        for (int r = 0; r < out; r++) steps[r] = (float) (levelled.scale(r) * max / 127);
        return UniformOperand.withPairs(bits, Granularity.PER_OUTPUT_CHANNEL, steps, new CodePairs(bits, flat));
    }
}
