package io.vitq.eval;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.MathContext;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The uncertainty {@code vitq eval} prints beside a top-1: the Wilson interval held to the score test
 * it inverts and to values computed in Python, McNemar's exact test held to the binomial sum in exact
 * rational arithmetic.
 */
class TopOneUncertaintyTest {
    private static final double Z = TopOneUncertainty.Z95;

    @Test
    void wilsonEndsAreWhereTheScoreTestJustRejects() {
        for (int n : new int[] {1, 3, 10, 97, 1300, 50000})
            for (int k : new int[] {0, 1, n / 3, n / 2, n - 1, n}) {
                if (k < 0 || k > n) continue;
                double[] ci = TopOneUncertainty.wilson(k, n);
                double p = (double) k / n;
                assertTrue(0 <= ci[0] && ci[0] <= p && p <= ci[1] && ci[1] <= 1, k + "/" + n + ": " + ci[0] + ".." + ci[1]);
                // (p^ - p)^2 n = z^2 p (1 - p) at both ends: the interval is the score test's acceptance region
                for (double end : ci)
                    if (end > 0 && end < 1)
                        assertEquals(Z * Z * end * (1 - end), (p - end) * (p - end) * n, 1e-9, k + "/" + n + " at " + end);
            }
    }

    @Test
    void wilsonMatchesAnIndependentComputation() {
        // python3: the Wilson formula in double (2026-12-06)
        assertArrayEquals(new double[] {0.784574917609183, 0.8274626845098505}, TopOneUncertainty.wilson(1049, 1300), 1e-12);
        assertArrayEquals(new double[] {0.2076596008020477, 0.9385080552796037}, TopOneUncertainty.wilson(2, 3), 1e-12);
        assertArrayEquals(new double[] {0, 0.2775327998628892}, TopOneUncertainty.wilson(0, 10), 1e-12);
        assertArrayEquals(new double[] {0.7224672001371107, 1}, TopOneUncertainty.wilson(10, 10), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> TopOneUncertainty.wilson(0, 0));
        assertThrows(IllegalArgumentException.class, () -> TopOneUncertainty.wilson(4, 3));
        assertThrows(IllegalArgumentException.class, () -> TopOneUncertainty.wilson(-1, 3));
    }

    /** {@code min(1, 2 sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c))} in exact integers, then rounded once. */
    private static double exactMcnemar(int b, int c) {
        int n = b + c;
        if (n == 0) return 1;
        BigInteger sum = BigInteger.ZERO, binom = BigInteger.ONE;
        for (int i = 0; i <= Math.min(b, c); i++) {
            sum = sum.add(binom);
            binom = binom.multiply(BigInteger.valueOf(n - i)).divide(BigInteger.valueOf(i + 1));
        }
        BigDecimal p = new BigDecimal(sum.shiftLeft(1)).divide(new BigDecimal(BigInteger.ONE.shiftLeft(n)), MathContext.DECIMAL128);
        return Math.min(1, p.doubleValue());
    }

    @Test
    void mcnemarIsTheExactBinomialTest() {
        for (int b = 0; b <= 40; b++)
            for (int c = 0; c <= 40; c++)
                assertEquals(exactMcnemar(b, c), TopOneUncertainty.mcnemarExact(b, c), 1e-12 * Math.max(1e-300, exactMcnemar(b, c)) + 1e-15,
                        b + " against " + c);
        // beyond 0.5^1074, where the plain product underflows
        for (int[] bc : new int[][] {{700, 600}, {1200, 100}, {2000, 0}, {650, 650}}) {
            double exact = exactMcnemar(bc[0], bc[1]), got = TopOneUncertainty.mcnemarExact(bc[0], bc[1]);
            assertEquals(exact, got, 1e-9 * exact, bc[0] + " against " + bc[1]);
        }
        assertEquals(0.0625, TopOneUncertainty.mcnemarExact(0, 5), 1e-15);
        assertEquals(0.0010158471941252856, TopOneUncertainty.mcnemarExact(40, 15), 1e-15);   // python3, fractions
        assertEquals(1.0, TopOneUncertainty.mcnemarExact(0, 0));
        assertEquals(1.0, TopOneUncertainty.mcnemarExact(3, 3));
        assertThrows(IllegalArgumentException.class, () -> TopOneUncertainty.mcnemarExact(-1, 2));
    }

    private static TopK top(int first) {
        return new TopK(new int[] {first, 900, 901, 902, 903}, new float[] {0.5f, 0.2f, 0.1f, 0.1f, 0.1f});
    }

    @Test
    void discordantCountsLabelledImagesOnly() {
        List<Prediction> p = List.of(
                new Prediction("a", 1, top(1)),     // both right
                new Prediction("b", 2, top(5)),     // float only
                new Prediction("c", 3, top(3)),     // this model only
                new Prediction("d", 4, top(6)),     // neither
                new Prediction("e", -1, top(7)),    // unlabelled: not counted
                new Prediction("f", 8, top(9)));    // float only
        List<TopK> ref = List.of(top(1), top(2), top(0), top(0), top(8), top(8));
        assertArrayEquals(new int[] {2, 1}, TopOneUncertainty.discordant(p, ref));
        assertThrows(IllegalArgumentException.class, () -> TopOneUncertainty.discordant(p, ref.subList(0, 5)));
    }
}
