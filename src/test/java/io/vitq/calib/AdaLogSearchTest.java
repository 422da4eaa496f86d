package io.vitq.calib;

import io.vitq.quant.AdaLogOperand;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.ToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdaLog's progressive search of fc2's input quantizer against AdaLog's {@code activation_fpcs}
 * restated the way its tensors run it (flat candidate lists built by repeat and repeat_interleave,
 * top-k by a full sort), its cost (seven stages of 128 candidates), and its scale range against
 * AdaLog's {@code positive_percentile} written out.
 */
class AdaLogSearchTest {

    /** A pseudo-random but deterministic score of (q, scale): smooth in the scale, rough in q. */
    static ToDoubleFunction<AdaLogOperand> roughScore(long seed) {
        return a -> {
            long h = new SplittableRandom(seed * 1_000_003L + a.q()).nextLong();
            double qTerm = (h & 1023) / 1023.0;
            double s = Math.log(a.scale() / 1.7);
            return -(s * s) - 0.3 * qTerm;
        };
    }

    /** AdaLog's activation_fpcs, restated over flat arrays: (q, scale) pairs, the best k by a stable full sort. */
    static float[] restated(float startScale, float lo, float hi, ToDoubleFunction<AdaLogOperand> score) {
        return restated(4, startScale, lo, hi, score, score);
    }

    /** The same with vitq's coarse scores for every stage but the last. */
    static float[] restated(int bits, float startScale, float lo, float hi, ToDoubleFunction<AdaLogOperand> coarse,
                            ToDoubleFunction<AdaLogOperand> full) {
        ToDoubleFunction<AdaLogOperand> score = coarse;
        int eqN = 128, baseNum = 8, scaleNum = 16, width = 32, steps = 6, newCnt = eqN / width;
        int[] qs = new int[eqN];
        float[] ss = new float[eqN];
        for (int i = 0; i < eqN; i++) {
            qs[i] = 10 + i;
            ss[i] = startScale;
        }
        int[] top = topk(bits, qs, ss, score, baseNum);
        int[] baseQ = new int[baseNum];
        for (int i = 0; i < baseNum; i++) baseQ[i] = qs[top[i]];
        float[] lin = new float[scaleNum];
        for (int i = 0; i < scaleNum; i++) lin[i] = (float) (lo + (hi - lo) * ((double) i / (scaleNum - 1)));
        double delta = (double) lin[1] - lin[0];
        // a_scale_candidates.repeat(1, base_num); q_candidates.repeat_interleave(scale_num)
        qs = new int[baseNum * scaleNum];
        ss = new float[baseNum * scaleNum];
        for (int i = 0; i < qs.length; i++) {
            qs[i] = baseQ[i / scaleNum];
            ss[i] = lin[i % scaleNum];
        }
        top = topk(bits, qs, ss, score, width);
        int[] keptQ = new int[width];
        float[] keptS = new float[width];
        for (int i = 0; i < width; i++) {
            keptQ[i] = qs[top[i]];
            keptS[i] = ss[top[i]];
        }
        for (int remain = steps - 1; remain > 0; remain--) {
            double[] off = new double[newCnt];
            for (int j = 0; j < newCnt; j++) off[j] = ((double) j / (newCnt - 1) - 0.5) * delta;
            delta = delta / (newCnt - 0.5);
            qs = new int[keptQ.length * newCnt];
            ss = new float[keptQ.length * newCnt];
            for (int k = 0; k < keptQ.length; k++)
                for (int j = 0; j < newCnt; j++) {
                    qs[k * newCnt + j] = keptQ[k];
                    ss[k * newCnt + j] = Math.max(AdaLogSearch.MIN_SCALE, (float) (keptS[k] + off[j]));
                }
            top = topk(bits, qs, ss, remain == 1 ? full : score, remain == 1 ? 1 : width);
            keptQ = new int[top.length];
            keptS = new float[top.length];
            for (int i = 0; i < top.length; i++) {
                keptQ[i] = qs[top[i]];
                keptS[i] = ss[top[i]];
            }
        }
        return new float[] {keptQ[0], keptS[0]};
    }

    private static int[] topk(int bits, int[] qs, float[] ss, ToDoubleFunction<AdaLogOperand> score, int k) {
        double[] s = new double[qs.length];
        for (int i = 0; i < qs.length; i++) s[i] = score.applyAsDouble(new AdaLogOperand(bits, qs[i], ss[i], AdaLogOperand.GELU_SHIFT));
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < qs.length; i++) idx.add(i);
        idx.sort((a, b) -> Double.compare(s[b], s[a]));
        int[] out = new int[k];
        for (int i = 0; i < k; i++) out[i] = idx.get(i);
        return out;
    }

    @Test
    void equalsAdaLogsProgressionRestated() {
        for (long seed = 1; seed <= 4; seed++) {
            float lo = 0.4f + seed * 0.1f, hi = 3.9f + seed;
            ToDoubleFunction<AdaLogOperand> score = roughScore(seed);
            AdaLogOperand start = new AdaLogOperand(4, AdaLogOperand.R, 2.2f, AdaLogOperand.GELU_SHIFT);
            AdaLogOperand got = AdaLogSearch.gelu(start, new float[] {lo, hi}, score, score);
            float[] want = restated(2.2f, lo, hi, score);
            assertEquals((int) want[0], got.q(), "seed " + seed);
            assertEquals(want[1], got.scale(), "seed " + seed);
            assertEquals(AdaLogOperand.GELU_SHIFT, got.shift());
        }
    }

    @Test
    void sevenStagesOf128TheLastScoredInFullAndTheOptimumFound() {
        int[] calls = {0, 0};
        ToDoubleFunction<AdaLogOperand> score = a -> {
            double s = Math.log(a.scale() / 1.234);
            return -(s * s) - 1e-3 * Math.abs(a.q() - 71);
        };
        AdaLogOperand got = AdaLogSearch.gelu(new AdaLogOperand(4, 37, 2f, AdaLogOperand.GELU_SHIFT), new float[] {0.5f, 4f},
                a -> {
                    calls[0]++;
                    return score.applyAsDouble(a);
                }, a -> {
                    calls[1]++;
                    return score.applyAsDouble(a);
                });
        assertEquals(6 * 128, calls[0], "coarse stages");
        assertEquals(128, calls[1], "the last stage in full");
        assertEquals(71, got.q());
        // the last refinement's step: (4 - 0.5) / 15 / 3.5^4, and the last offsets are at most half of it
        double lastStep = 3.5 / 15 / Math.pow(3.5, 4);
        assertTrue(Math.abs(got.scale() - 1.234) <= lastStep, "scale " + got.scale());
    }

    @Test
    void rangeIsAdaLogsPositivePercentiles() {
        SplittableRandom r = new SplittableRandom(5);
        float[] x = new float[10_001];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextGaussian() * 0.8 - 0.1);
        float[] got = AdaLogSearch.range("op", x, x.length, 0.17f);
        float[] pos = new float[x.length];
        int n = 0;
        for (float v : x) if (v > 0) pos[n++] = v;
        pos = Arrays.copyOf(pos, n);
        Arrays.sort(pos);
        // positive_percentile: ranks = ceil(count * q) - 1, clamped at 0
        assertEquals(pos[(int) Math.ceil(n * 0.9) - 1] + 0.17f, got[0]);
        assertEquals(pos[n - 1] + 0.17f, got[1]);
        assertThrows(IllegalArgumentException.class, () -> AdaLogSearch.range("blocks.0.mlp.fc2", new float[] {-1f, 0f}, 2, 0.17f));
    }

    @Test
    void startIsBaseTwoAtTheSecondLargestScale() {
        AdaLogOperand a = AdaLogSearch.start(4, new float[] {1f, 2.27f}, 0.17f);
        assertEquals(37, a.q());
        assertEquals((float) (1 + 1.27 * 126 / 127), a.scale());
    }
}
