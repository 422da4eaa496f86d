package io.vitq.calib;

import io.vitq.quant.AdaLogOperand;

import java.util.Arrays;
import java.util.function.ToDoubleFunction;

/**
 * AdaLog's "fast progressive combining search" of fc2's post-GELU quantizer (docs/LOWBIT.md section
 * 5.2; AdaLog's {@code PostGeluLogBasedBatchingQuantLinear.activation_fpcs}), over any score
 * (higher is better; the Linear's output similarity with its weight quantized):
 * <ol>
 *   <li>the base: q in {@code 10 .. 137} at the current scale, the best {@value #BASES} kept;</li>
 *   <li>{@value #SCALES} scales evenly across {@code [lo, hi]} (the 0.9 quantile and the maximum of
 *       the positive inputs, plus the shift) for each kept base, the best {@value #WIDTH} kept;</li>
 *   <li>{@value #REFINEMENTS} refinements: around each kept candidate the scales at
 *       {@code (-1/2, -1/6, 1/6, 1/2)} times a step that starts at the scale grid's step and shrinks
 *       by 3.5 each time; the best {@value #WIDTH} kept, and after the last the best one.</li>
 * </ol>
 * Every stage scores 128 candidates. As in AdaLog a refinement does not carry its centres over, so
 * the result can score below the best candidate of an earlier stage. Ties keep the earlier
 * candidate (AdaLog's {@code topk} leaves their order open: [INFERRED]).
 *
 * <p>[vitq] The stages before the last score on every {@value #COARSE_STRIDE}th calibration image
 * ({@code coarse}), the last, which picks the result, on all of them ({@code full}): seven stages of
 * 128 full products per round made the search of fc2's input two thirds of a 16-minute ViT-Ti
 * calibration; AdaLog scores every stage on all images (on a GPU).
 */
final class AdaLogSearch {
    static final int BASES = 8, SCALES = 16, WIDTH = 32, REFINEMENTS = 5;
    /** The coarse stages' sample stride ([vitq], see the class comment). */
    static final int COARSE_STRIDE = 4;
    private static final int OFFSETS = AdaLogOperand.Q_CANDIDATES / WIDTH;
    private static final double SHRINK = OFFSETS - 0.5;
    /** A scale's floor when a refinement steps below zero ([INFERRED]: AdaLog's uniform searches clamp at 1e-4). */
    static final float MIN_SCALE = 1e-4f;

    private AdaLogSearch() {}

    /** AdaLog's scale range for fc2's input: the 0.9 quantile and the maximum of the positive values, each plus the shift. */
    static float[] range(String opId, float[] x, int len, float shift) {
        int count = 0;
        for (int i = 0; i < len; i++) if (x[i] > 0) count++;
        if (count == 0) throw new IllegalArgumentException(opId + ": no positive calibration input for AdaLog's scale range");
        float[] pos = new float[count];
        for (int i = 0, j = 0; i < len; i++) if (x[i] > 0) pos[j++] = x[i];
        Arrays.parallelSort(pos);
        // AdaLog's positive_percentile: the value at rank ceil(count * p) - 1
        float lo = pos[Math.max(0, (int) Math.ceil(count * 0.9) - 1)], hi = pos[count - 1];
        return new float[] {lo + shift, hi + shift};
    }

    /** AdaLog's starting quantizer: base 2 (q = 37) and the second-largest of 128 scales across the range. */
    static AdaLogOperand start(int bits, float[] range, float shift) {
        int n = AdaLogOperand.Q_CANDIDATES;
        float scale = (float) (range[0] + (range[1] - range[0]) * (double) (n - 2) / (n - 1));
        return new AdaLogOperand(bits, AdaLogOperand.R, scale, shift);
    }

    /**
     * Scores of a stage's candidates when the stage keeps its best {@code keep}: exact for those
     * (ties included), and for the others anything below the keep-th best (branch and bound,
     * {@link CandidateRace#keeping}).
     */
    @FunctionalInterface
    interface StageScores {
        double[] of(AdaLogOperand[] candidates, int keep);

        /** Every candidate scored exactly by {@code score}. */
        static StageScores each(ToDoubleFunction<AdaLogOperand> score) {
            return (c, keep) -> {
                double[] s = new double[c.length];
                for (int i = 0; i < c.length; i++) s[i] = score.applyAsDouble(c[i]);
                return s;
            };
        }
    }

    /** {@link #gelu(AdaLogOperand, float[], StageScores, StageScores)} with every candidate scored exactly. */
    static AdaLogOperand gelu(AdaLogOperand current, float[] range, ToDoubleFunction<AdaLogOperand> coarse,
                              ToDoubleFunction<AdaLogOperand> full) {
        return gelu(current, range, StageScores.each(coarse), StageScores.each(full));
    }

    /**
     * The progressive search from {@code current} (its scale for the base stage) over {@code range};
     * {@code coarse} scores the stages before the last, {@code full} the last.
     */
    static AdaLogOperand gelu(AdaLogOperand current, float[] range, StageScores coarse, StageScores full) {
        StageScores score = coarse;
        int bits = current.bits();
        float shift = current.shift();
        AdaLogOperand[] c = new AdaLogOperand[AdaLogOperand.Q_CANDIDATES];
        for (int i = 0; i < c.length; i++) c[i] = new AdaLogOperand(bits, AdaLogOperand.MIN_Q + i, current.scale(), shift);
        AdaLogOperand[] bases = best(c, score, BASES);

        float[] grid = new float[SCALES];
        for (int j = 0; j < SCALES; j++) grid[j] = (float) (range[0] + (range[1] - range[0]) * ((double) j / (SCALES - 1)));
        double step = (double) grid[1] - grid[0];   // AdaLog's delta_scale, from the grid's first two scales
        c = new AdaLogOperand[BASES * SCALES];
        for (int b = 0; b < BASES; b++)
            for (int j = 0; j < SCALES; j++) c[b * SCALES + j] = new AdaLogOperand(bits, bases[b].q(), grid[j], shift);
        AdaLogOperand[] kept = best(c, score, WIDTH);

        for (int r = 0; r < REFINEMENTS; r++) {
            c = new AdaLogOperand[WIDTH * OFFSETS];
            for (int k = 0; k < WIDTH; k++)
                for (int j = 0; j < OFFSETS; j++) {
                    double offset = ((double) j / (OFFSETS - 1) - 0.5) * step;
                    float s = Math.max(MIN_SCALE, (float) (kept[k].scale() + offset));
                    c[k * OFFSETS + j] = new AdaLogOperand(bits, kept[k].q(), s, shift);
                }
            step /= SHRINK;
            boolean last = r == REFINEMENTS - 1;
            kept = best(c, last ? full : score, last ? 1 : WIDTH);
        }
        return kept[0];
    }

    /** The {@code keep} best candidates by score, best first; equal scores keep the earlier candidate first. */
    static AdaLogOperand[] best(AdaLogOperand[] c, StageScores score, int keep) {
        double[] s = score.of(c, Math.min(keep, c.length));
        Integer[] order = new Integer[c.length];
        for (int i = 0; i < c.length; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(s[b], s[a]));   // stable: ties in index order
        AdaLogOperand[] out = new AdaLogOperand[Math.min(keep, c.length)];
        for (int i = 0; i < out.length; i++) out[i] = c[order[i]];
        return out;
    }
}
