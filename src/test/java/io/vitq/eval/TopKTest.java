package io.vitq.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * {@link TopK} against a restatement: a stable sort of the class indices by logit, descending,
 * ties in index order (torch.topk on CPU keeps the lower index first); probabilities against the
 * float64 softmax.
 */
class TopKTest {
    static final double U = 0x1p-24;

    /** The k best classes of logits[off .. off+n): value descending, equal values by ascending index. */
    static int[] reference(float[] logits, int off, int n, int k) {
        return IntStream.range(0, n).boxed()
                .sorted(Comparator.<Integer>comparingDouble(i -> -(logits[off + i] + 0.0)).thenComparingInt(i -> i)) // -0.0 == 0.0
                .limit(Math.min(k, n)).mapToInt(Integer::intValue).toArray();
    }

    /**
     * Checks classes exactly and probabilities: the reference is the float64 softmax; TopK computes
     * it in double and rounds once to float, so |p - ref| <= U ref (+ the double sum's error,
     * n 2^-53 relative, and 2^-150 for subnormal probabilities).
     */
    static void check(float[] logits, int off, int n, int k, String what) {
        TopK t = TopK.of(logits, off, n, k);
        int[] ref = reference(logits, off, n, k);
        assertArrayEquals(ref, t.classes(), what + ": classes of " + Arrays.toString(Arrays.copyOfRange(logits, off, off + n)));
        assertEquals(ref.length, t.probs().length, what);
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int i = 0; i < n; i++) max = Math.max(max, logits[off + i]);
        for (int i = 0; i < n; i++) sum += Math.exp(logits[off + i] - max);
        for (int j = 0; j < ref.length; j++) {
            double p = Math.exp(logits[off + ref[j]] - max) / sum;
            double tol = U * p + 4 * n * 0x1p-53 * p + 0x1p-150;
            if (!(Math.abs(t.probs()[j] - p) <= tol)) fail(what + ": p[" + j + "] = " + t.probs()[j] + " expected " + p);
        }
        assertEquals(ref[0], t.top1(), what);
    }

    @Test
    void tiesKeepTheLowerIndex() {
        // every value equal: classes 0..k-1, each probability 1/n
        float[] same = new float[10];
        check(same, 0, 10, 5, "all equal");
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, TopK.of(same, 0, 10, 5).classes());
        // a tie straddling the k boundary: the lower indices win the last places
        float[] x = {1f, 5f, 3f, 3f, 5f, 3f, 0f, 3f};
        assertArrayEquals(new int[] {1, 4, 2, 3, 5}, TopK.of(x, 0, 8, 5).classes());
        check(x, 0, 8, 5, "tie at the boundary");
        // a later equal maximum does not take top-1
        float[] y = {2f, 7f, 1f, 7f};
        assertEquals(1, TopK.of(y, 0, 4, 1).top1());
        assertArrayEquals(new int[] {1, 3}, TopK.of(y, 0, 4, 2).classes());
        // -0.0 and 0.0 are equal logits: a tie
        float[] z = {-1f, -0f, 0f, -2f};
        assertArrayEquals(new int[] {1, 2, 0}, TopK.of(z, 0, 4, 3).classes());
        check(z, 0, 4, 3, "signed zeros");
    }

    @Test
    void kAtLeastNAndOneClass() {
        float[] x = {0.5f, -1f, 2f};
        assertArrayEquals(new int[] {2, 0, 1}, TopK.of(x, 0, 3, 5).classes());
        assertArrayEquals(new int[] {2, 0, 1}, TopK.of(x, 0, 3, 3).classes());
        check(x, 0, 3, 5, "k > n");
        TopK one = TopK.of(new float[] {-3f}, 0, 1, 5);
        assertArrayEquals(new int[] {0}, one.classes());
        assertEquals(1f, one.probs()[0]);
    }

    @Test
    void randomRowsWithManyDuplicatesAndOffsets() {
        SplittableRandom r = new SplittableRandom(3);
        for (int rep = 0; rep < 2000; rep++) {
            int n = 1 + r.nextInt(rep < 1000 ? 12 : 1000), k = 1 + r.nextInt(7), off = r.nextInt(5);
            float[] logits = new float[off + n + 3];
            int levels = 1 + r.nextInt(6);
            double spread = rep % 3 == 0 ? 1e-3 : rep % 3 == 1 ? 1 : 40;
            for (int i = 0; i < logits.length; i++) logits[i] = (float) (r.nextInt(levels) * spread - spread);
            if (rep % 5 == 0) for (int i = 0; i < logits.length; i++) logits[i] += (float) r.nextGaussian();
            check(logits, off, n, k, "rep " + rep);
        }
    }

    @Test
    void largeLogitsDoNotOverflowTheProbabilities() {
        // exp(1000) overflows double: the probabilities must be computed relative to the maximum
        float[] x = {1000f, 999f, -1000f, 998.5f, 1000f};
        check(x, 0, 5, 5, "logits near 1000");
        TopK t = TopK.of(x, 0, 5, 5);
        assertArrayEquals(new int[] {0, 4, 1, 3, 2}, t.classes());
        assertEquals(0f, t.probs()[4]);
    }

    @Test
    void containsLooksAtTheTopKOnly() {
        float[] x = {0f, 9f, 8f, 7f, 6f, 5f, 4f};
        TopK t = TopK.of(x, 0, 7, 5);
        for (int c : new int[] {1, 2, 3, 4, 5}) assertTrue(t.contains(c), "class " + c);
        assertFalse(t.contains(6));
        assertFalse(t.contains(0));
        assertFalse(t.contains(-1));
    }
}
