package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A weight on a table of levels ({@link UniformOperand#levels()}): every path of its quantizer against
 * the nearest level found by a scan of the whole table, its plan-file form and its refusals.
 */
class WeightLevelsTest {
    static final int[] LEVELS = {-120, -70, -33, -9, 0, 14, 52, 127};

    /** The definition: the level nearest fl(x / s) by a scan (a tie to the lower), times s. */
    static int nearestByScan(int[] levels, double v) {
        if (v <= levels[0]) return levels[0];
        if (v >= levels[levels.length - 1]) return levels[levels.length - 1];   // (far out the differences round alike)
        int best = levels[0];
        for (int l : levels) if (Math.abs(v - l) < Math.abs(v - best)) best = l;
        return best;
    }

    static float[] inputs(float s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[2000];
        int j = 0;
        for (int i = 1; i < LEVELS.length; i++) {   // the midpoints between levels and their neighbours: the ties
            float mid = (LEVELS[i - 1] + LEVELS[i]) / 2f * s;
            x[j++] = mid;
            x[j++] = Math.nextUp(mid);
            x[j++] = Math.nextDown(mid);
            x[j++] = LEVELS[i] * s;
        }
        x[j++] = 0f;
        x[j++] = -0f;
        x[j++] = 1e30f;
        x[j++] = -1e30f;
        while (j < x.length) x[j++] = (float) r.nextDouble(-140 * s, 140 * s);
        return x;
    }

    /** What each array method of a quantizer gives for {@code x} at scale {@code s}. */
    record ArrayPaths(float[] fakeQuant, float[] codeValues, byte[] byteCodes, short[] shortCodes) {
        static ArrayPaths of(UniformQuantizer q, float s, float[] x) {
            ArrayPaths p = new ArrayPaths(new float[x.length], new float[x.length], new byte[x.length], new short[x.length]);
            q.fakeQuant("op", s, x, 0, p.fakeQuant, 0, x.length);
            q.codeValues("op", s, x, 0, p.codeValues, 0, x.length);
            q.codes("op", s, x, 0, p.byteCodes, 0, x.length);
            q.codes("op", s, x, 0, p.shortCodes, 0, x.length);
            return p;
        }
    }

    @Test
    void everyPathGivesTheNearestLevel() {
        for (float s : new float[] {0.0173f, 3e-5f, 1f}) {
            UniformQuantizer q = UniformOperand.withLevels(3, Granularity.PER_OUTPUT_CHANNEL, new float[] {s}, LEVELS).quantizer();
            float[] x = inputs(s, 11);
            ArrayPaths out = ArrayPaths.of(q, s, x);
            float[] fq = out.fakeQuant(), cv = out.codeValues();
            byte[] b = out.byteCodes();
            short[] sh = out.shortCodes();
            for (int i = 0; i < x.length; i++) {
                int want = nearestByScan(LEVELS, x[i] / s);
                String at = "x = " + x[i] + ", s = " + s;
                assertEquals(want, q.code(x[i], s), at);
                assertEquals(want, b[i], at);
                assertEquals(want, sh[i], at);
                assertEquals(Float.floatToIntBits(want + 0f), Float.floatToIntBits(cv[i]), at);
                assertEquals(Float.floatToIntBits(want * s), Float.floatToIntBits(fq[i]), at);
                assertEquals(Float.floatToIntBits(want * s), Float.floatToIntBits(q.fakeQuant(x[i], s)), at);
                assertEquals(want, q.roundCode(x[i] / s), 0, at);
            }
        }
        UniformQuantizer q = UniformOperand.withLevels(3, Granularity.PER_OUTPUT_CHANNEL, new float[] {1f}, LEVELS).quantizer();
        assertEquals(-33, q.code(-21f, 1f), "a tie goes to the lower level");
        assertEquals(14, q.roundCode(33.0 - 1e-9), 0);
        assertEquals(-120, q.minCode());
        assertEquals(127, q.maxCode());
        float[] nan = {1f, Float.NaN};
        assertThrows(IllegalArgumentException.class, () -> q.fakeQuant("op", 1f, nan, 0, new float[2], 0, 2));
    }

    /** Three rows of 40 Gaussian weights (sd 0.5) through {@code w}'s row paths: the values, their fake quant and codes. */
    record WeightRows(float[] x, float[] fakeQuant, byte[] codes) {
        static WeightRows of(UniformOperand w) {
            SplittableRandom r = new SplittableRandom(5);
            float[] x = new float[3 * 40];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian() * 0.5f;
            float[] fq = new float[x.length];
            ScaledRanges.fakeQuantRows(w, "op", x, 3, 40, fq);
            return new WeightRows(x, fq, ScaledRanges.codesRows(w, "op", x, 3, 40));
        }
    }

    @Test
    void rowsTakeTheirOwnStepAndTheCodesAreTheLevels() {
        float[] scales = {0.01f, 0.02f, 0.005f};
        UniformOperand w = UniformOperand.withLevels(3, Granularity.PER_OUTPUT_CHANNEL, scales, LEVELS);
        WeightRows rows = WeightRows.of(w);
        float[] x = rows.x(), fq = rows.fakeQuant();
        byte[] codes = rows.codes();
        for (int row = 0; row < 3; row++)
            for (int c = 0; c < 40; c++) {
                int i = row * 40 + c;
                assertEquals(nearestByScan(LEVELS, x[i] / scales[row]), codes[i]);
                assertEquals(codes[i] * scales[row], fq[i], 0f);
                assertTrue(w.levelIndex(codes[i]) >= 0);
            }
        assertEquals(127, w.maxAbsCode());
        assertEquals(8, w.levels().length);
        assertEquals(-9, w.levels()[3]);
        assertEquals(-1, w.levelIndex(1));
        assertEquals("uniform (8 levels)", w.inspectCells().get(0));
        assertTrue(w.inspectCells().get(3).endsWith("; levels [-120, -70, -33, -9, 0, 14, 52, 127]"), w.inspectCells().get(3));
        assertEquals("uniform/per-output-channel/levels", w.summary());
    }

    @Test
    void planJsonRoundTripsTheLevels() {
        UniformOperand w = UniformOperand.withLevels(3, Granularity.PER_OUTPUT_CHANNEL, new float[] {0.01f, 0.02f}, LEVELS);
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        ops.put("fc", new LinearQuant(w, UniformOperand.perTensor(8, 0.1f)));
        QuantPlan plan = new QuantPlan(new PlanInfo("m", "test", 3, 8), ops);
        String json = QuantPlanJson.toJson(plan);
        assertTrue(json.contains("\"levels\""), json);
        QuantPlan back = QuantPlanJson.parse(json, "plan.json");
        assertEquals(plan, back);
        assertArrayEquals(LEVELS, back.linear("fc").weight().levels());
        String bad = json.replaceFirst("-120,(\\s*)-70", "-70,$1-120");
        PlanFormatException e = assertThrows(PlanFormatException.class, () -> QuantPlanJson.parse(bad, "plan.json"));
        assertTrue(e.getMessage().contains("not strictly ascending"), e.getMessage());
    }

    @Test
    void refusals() {
        float[] one = {0.1f};
        Granularity g = Granularity.PER_OUTPUT_CHANNEL;
        String[][] cases = {
                {"8", "levels at 8 bits"},
                {"2", "8 levels for 2-bit indices (2 to 4)"},
        };
        for (String[] c : cases) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> UniformOperand.withLevels(Integer.parseInt(c[0]), g, one, LEVELS));
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
        assertRefused(() -> UniformOperand.withLevels(3, g, one, new int[] {5}), "1 levels for 3-bit indices");
        assertRefused(() -> UniformOperand.withLevels(3, g, one, new int[] {-3, 200}), "level 200 outside the 8-bit grid");
        assertRefused(() -> UniformOperand.withLevels(3, g, one, new int[] {3, 1, 9}), "not strictly ascending");
        assertRefused(() -> UniformOperand.withLevels(3, g, one, new int[] {3, 9}), "do not surround 0");
        assertRefused(() -> new UniformOperand(3, g, one, new int[] {4}, LEVELS, null), "levels and zero points together");
        assertRefused(() -> UniformOperand.withLevels(3, Granularity.PER_HEAD, one, LEVELS), "levels are for weights");
        UniformOperand w = UniformOperand.withLevels(3, g, one, LEVELS);
        assertTrue(w.refuses(OperandRole.LINEAR_INPUT).contains("levels are for weights"));
        assertRefused(() -> w.withBits(4), "levels belong to its 3 bits");
        assertEquals(w, w.withBits(3));
        assertRefused(() -> w.codeForm("op", 0, 1f, false), "levelled weight codes are not an activation's code form");
    }

    static void assertRefused(org.junit.jupiter.api.function.Executable e, String part) {
        IllegalArgumentException x = assertThrows(IllegalArgumentException.class, e);
        assertTrue(x.getMessage().contains(part), x.getMessage());
    }
}
