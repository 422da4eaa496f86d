package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A weight on a table of code pairs ({@link UniformOperand#pairs()}, docs/LOWBIT.md section 1.3): every
 * path of its quantizer against the pair nearest each two columns found by a scan of the whole table
 * with the distance written out, its plan-file form and its refusals.
 */
class WeightPairsTest {
    /** 3-bit weights: at most 64 pairs; these 9 do not hold (0, 0). */
    static final int[] FLAT = {-120, -5, -40, 40, 0, 9, 3, 0, 40, -40, 127, 127, -128, 64, 17, -90, 5, 5};

    /** The definition: the pair nearest (x0 / s, x1 / s) in double by a scan (a tie to the lower index). */
    static int nearestByScan(int[] flat, double v0, double v1) {
        int best = 0;
        double bestDistance = Double.MAX_VALUE;
        for (int i = 0; i < flat.length / 2; i++) {
            double d = (v0 - flat[2 * i]) * (v0 - flat[2 * i]) + (v1 - flat[2 * i + 1]) * (v1 - flat[2 * i + 1]);
            if (d < bestDistance) {
                bestDistance = d;
                best = i;
            }
        }
        return best;
    }

    static float[] inputs(float s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[2000];
        int j = 0;
        float[][] special = {{0f, 0f}, {-0f, 0f}, {1e30f, -1e30f}, {-1e30f, 1e30f}, {4f, 2.5f}, {0f, 20f}, {-20f, 20f}};
        for (float[] p : special) {   // (4, 2.5): as far from (3, 0) as from (5, 5)
            x[j++] = p[0] * s;
            x[j++] = p[1] * s;
        }
        for (int i = 0; i < FLAT.length; i += 2) {   // each pair exactly, and just off it
            x[j++] = FLAT[i] * s;
            x[j++] = FLAT[i + 1] * s;
            x[j++] = Math.nextUp(FLAT[i] * s);
            x[j++] = Math.nextDown(FLAT[i + 1] * s);
        }
        while (j < x.length) x[j++] = (float) r.nextDouble(-140 * s, 140 * s);
        return x;
    }

    static UniformOperand paired(float... scales) {
        return UniformOperand.withPairs(3, Granularity.PER_OUTPUT_CHANNEL, scales, new CodePairs(3, FLAT));
    }

    @Test
    void everyPathGivesTheNearestPair() {
        for (float s : new float[] {0.0173f, 3e-5f, 1f}) {
            float[] x = inputs(s, 11);
            WeightLevelsTest.ArrayPaths out = WeightLevelsTest.ArrayPaths.of(paired(s).quantizer(), s, x);
            float[] fq = out.fakeQuant(), cv = out.codeValues();
            byte[] b = out.byteCodes();
            short[] sh = out.shortCodes();
            for (int i = 0; i < x.length; i += 2) {
                int p = nearestByScan(FLAT, x[i] / (double) s, x[i + 1] / (double) s);
                for (int k = 0; k < 2; k++) {
                    int want = FLAT[2 * p + k];
                    String at = "x = (" + x[i] + ", " + x[i + 1] + "), s = " + s + ", code " + k;
                    assertEquals(want, b[i + k], at);
                    assertEquals(want, sh[i + k], at);
                    assertEquals(Float.floatToIntBits(want + 0f), Float.floatToIntBits(cv[i + k]), at);
                    assertEquals(Float.floatToIntBits(want * s), Float.floatToIntBits(fq[i + k]), at);
                }
            }
        }
        UniformQuantizer q = paired(1f).quantizer();
        assertEquals(-128, q.minCode());
        assertEquals(127, q.maxCode());
        byte[] tie = new byte[2];
        q.codes("op", 1f, new float[] {4f, 2.5f}, 0, tie, 0, 2);   // a tie of pairs 3 and 8: the lower index
        assertArrayEquals(new byte[] {3, 0}, tie);
    }

    @Test
    void aTieGoesToTheLowerIndex() {
        CodePairs p = new CodePairs(2, new int[] {10, 0, -10, 0, 0, 10});
        assertEquals(0, p.nearest(0, 0), "(0, 0) is 10 from all three: the first");
        assertEquals(0, p.nearest(0, -1e-300));
        assertEquals(1, p.nearest(-1e-9, 0));
        assertEquals(2, p.nearest(0, 5.0000001));
    }

    @Test
    void aSingleValueOrAnOddRangeIsRefused() {
        UniformQuantizer q = paired(1f).quantizer();
        assertThrows(IllegalStateException.class, () -> q.code(1f, 1f));
        assertThrows(IllegalStateException.class, () -> q.fakeQuant(1f, 1f));
        assertThrows(IllegalStateException.class, () -> q.roundCode(1.0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> q.fakeQuant("blocks.0.mlp.fc1", 1f, new float[3], 0, new float[3], 0, 3));
        assertTrue(e.getMessage().contains("blocks.0.mlp.fc1") && e.getMessage().contains("even length"), e.getMessage());
        float[] nan = {1f, Float.NaN};
        e = assertThrows(IllegalArgumentException.class, () -> q.codes("op", 1f, nan, 0, new byte[2], 0, 2));
        assertTrue(e.getMessage().contains("op"), e.getMessage());
    }

    @Test
    void rowsTakeTheirOwnStepAndTheCodesAreTheTablesPairs() {
        float[] scales = {0.01f, 0.02f, 0.005f};
        UniformOperand w = paired(scales);
        WeightLevelsTest.WeightRows rows = WeightLevelsTest.WeightRows.of(w);
        float[] x = rows.x(), fq = rows.fakeQuant();
        byte[] codes = rows.codes();
        for (int row = 0; row < 3; row++)
            for (int c = 0; c < 40; c += 2) {
                int i = row * 40 + c, p = nearestByScan(FLAT, x[i] / (double) scales[row], x[i + 1] / (double) scales[row]);
                assertEquals(FLAT[2 * p], codes[i]);
                assertEquals(FLAT[2 * p + 1], codes[i + 1]);
                assertEquals(p, w.pairs().indexOf(codes[i], codes[i + 1]));
                assertEquals(codes[i] * scales[row], fq[i], 0f);
                assertEquals(codes[i + 1] * scales[row], fq[i + 1], 0f);
            }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScaledRanges.fakeQuantRows(w, "head", new float[3 * 41], 3, 41, new float[3 * 41]));
        assertTrue(e.getMessage().contains("head") && e.getMessage().contains("even"), e.getMessage());
        assertEquals(128, w.maxAbsCode());
        assertEquals(9, w.pairs().size());
        assertEquals(-1, w.pairs().indexOf(0, 0));
        assertEquals("uniform (9 pairs)", w.inspectCells().get(0));
        assertTrue(w.inspectCells().get(3).endsWith("; pair codes -128 to 127"), w.inspectCells().get(3));
        assertEquals("uniform/per-output-channel/pairs", w.summary());
        assertTrue(w.hasPairs() && !w.hasLevels());
    }

    @Test
    void planJsonRoundTripsThePairs() {
        UniformOperand w = paired(0.01f, 0.02f);
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        ops.put("fc", new LinearQuant(w, UniformOperand.perTensor(8, 0.1f)));
        QuantPlan plan = new QuantPlan(new PlanInfo("m", "test", 3, 8), ops);
        String json = QuantPlanJson.toJson(plan);
        assertTrue(json.contains("\"pairs\""), json);
        QuantPlan back = QuantPlanJson.parse(json, "plan.json");
        assertEquals(plan, back);
        assertArrayEquals(FLAT, back.linear("fc").weight().pairs().flat());
        String twice = json.replaceFirst("-40,(\\s*)40", "-120,$1-5");
        PlanFormatException e = assertThrows(PlanFormatException.class, () -> QuantPlanJson.parse(twice, "plan.json"));
        assertTrue(e.getMessage().contains("(-120, -5) is in the table twice"), e.getMessage());
        String odd = json.replaceFirst("-120,(\\s*)-5,", "-120,$1");
        e = assertThrows(PlanFormatException.class, () -> QuantPlanJson.parse(odd, "plan.json"));
        assertTrue(e.getMessage().contains("odd number of codes (17)"), e.getMessage());
    }

    @Test
    void refusals() {
        float[] one = {0.1f};
        Granularity g = Granularity.PER_OUTPUT_CHANNEL;
        assertRefused(() -> new CodePairs(8, FLAT), "pairs at 8 bits");
        assertRefused(() -> new CodePairs(1, FLAT), "9 pairs for 1-bit weights (2 to 4)");
        assertRefused(() -> new CodePairs(3, new int[] {1, 2}), "1 pairs for 3-bit weights");
        assertRefused(() -> new CodePairs(3, new int[] {1, 2, 3, 200}), "code 200 of a pair outside the 8-bit grid");
        assertRefused(() -> new CodePairs(3, new int[] {1, 2, 3}), "odd number of codes (3)");
        assertRefused(() -> new CodePairs(3, new int[] {1, 2, 3, 4, 1, 2}), "(1, 2) is in the table twice");
        CodePairs pairs = new CodePairs(3, FLAT);
        assertRefused(() -> UniformOperand.withPairs(4, g, one, pairs), "a table of pairs for 3-bit weights at 4 bits");
        assertRefused(() -> new UniformOperand(3, g, one, new int[] {4}, null, pairs), "pairs with zero points");
        assertRefused(() -> new UniformOperand(3, g, one, null, new int[] {-1, 0, 1}, pairs), "pairs with levels");
        assertRefused(() -> UniformOperand.withPairs(3, Granularity.PER_HEAD, one, pairs), "pairs are for weights");
        UniformOperand w = UniformOperand.withPairs(3, g, one, pairs);
        assertNull(w.refuses(OperandRole.WEIGHT));
        assertTrue(w.refuses(OperandRole.LINEAR_INPUT).contains("pairs are for weights"));
        assertRefused(() -> w.withBits(4), "paired weight's pairs belong to its 3 bits");
        assertEquals(w, w.withBits(3));
        assertRefused(() -> w.codeForm("fc", 0, 1f, false), "paired weight codes are not an activation's code form");
        assertRefused(() -> w.toOnnx(null, "x", "fc", 0, 2), "paired weights are exported as codes");
    }

    private static void assertRefused(org.junit.jupiter.api.function.Executable f, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, f);
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }
}
