package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The codebook quantizer against its definition written out (round to the 8-bit grid as
 * QuantizeLinear does, then the level of the last segment starting at or below that code, by a
 * linear search), its integer codes, its plan-file form and its refusals.
 */
public class CodebookOperandTest {

    /** The definition, element by element, with a linear search for the segment. */
    public static float reference(float x, float s, int z, int[] levels, int[] starts) {
        double g = Math.max(0, Math.min(255, Math.rint(x / s) + z));
        int level = levels[0];
        for (int i = 0; i < levels.length; i++) if (starts[i] <= g) level = levels[i];
        return (float) (level - z) * s;
    }

    /** Segment starts for {@code levels}: random boundaries between neighbouring levels. */
    public static int[] randomStarts(SplittableRandom r, int[] levels) {
        int[] starts = new int[levels.length];
        for (int i = 1; i < levels.length; i++) starts[i] = r.nextInt(levels[i - 1] + 1, levels[i] + 1);
        return starts;
    }

    public static int[] randomLevels(SplittableRandom r, int count) {
        java.util.TreeSet<Integer> set = new java.util.TreeSet<>();
        while (set.size() < count) set.add(r.nextInt(256));
        return set.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Random values over the grid and beyond, every grid code, each midpoint between levels and its neighbours. */
    public static float[] inputs(float s, int z, int[] levels, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[4000];
        int j = 0;
        for (int g = 0; g < 256; g++) x[j++] = (g - z) * s;
        for (int i = 1; i < levels.length; i++) {
            float mid = (levels[i - 1] + levels[i]) / 2f - z;
            for (float v : new float[] {mid * s, (mid + 0.5f) * s, (mid - 0.5f) * s, Math.nextUp((mid + 0.5f) * s),
                    Math.nextDown((mid - 0.5f) * s)}) x[j++] = v;
        }
        x[j++] = 0f;
        x[j++] = -0f;
        x[j++] = 1e30f;
        x[j++] = -1e30f;
        x[j++] = Float.MIN_VALUE;
        x[j++] = -Float.MIN_VALUE;
        while (j < x.length) x[j++] = (float) r.nextDouble((-z - 10) * s, (265 - z) * s);
        return x;
    }

    @Test
    void nearestMapsEveryGridCodeToItsNearestLevelLowerOnATie() {
        int[] levels = {3, 5, 10, 200};
        int[] t = CodebookOperand.nearest(2, 0.1f, 0, levels).table();
        assertEquals(3, t[0]);
        assertEquals(3, t[4], "4 is as near to 3 as to 5: the lower level");
        assertEquals(5, t[7]);
        assertEquals(10, t[8]);
        assertEquals(10, t[105], "105 is as near to 10 as to 200");
        assertEquals(200, t[106]);
        assertEquals(200, t[255]);
        int[] u = new CodebookOperand(2, 0.1f, 0, levels, new int[] {0, 5, 6, 11}).table();
        assertEquals(3, u[4]);
        assertEquals(5, u[5]);
        assertEquals(10, u[6], "the segments, not the distances, decide");
        assertEquals(200, u[11]);
    }

    @Test
    void fakeQuantIsTheDefinitionBitForBit() {
        SplittableRandom r = new SplittableRandom(11);
        for (int bits = 2; bits <= 8; bits++) {
            for (int count : new int[] {1, 2, 1 << bits}) {
                int[] levels = randomLevels(r, count), starts = randomStarts(r, levels);
                for (int z : new int[] {0, 17, 128, 255}) {
                    for (float s : new float[] {0.0173f, 0.25f, 3e-5f}) {
                        CodebookOperand c = new CodebookOperand(bits, s, z, levels, starts);
                        float[] x = inputs(s, z, levels, bits * 31L + z), y = new float[x.length];
                        c.fakeQuant("op", 0, x, 0, y, 0, x.length);
                        for (int i = 0; i < x.length; i++)
                            assertEquals(Float.floatToIntBits(reference(x[i], s, z, levels, starts) + 0f), Float.floatToIntBits(y[i] + 0f),
                                    "bits " + bits + " z " + z + " s " + s + " x " + x[i] + " levels " + Arrays.toString(levels));
                        float[] inPlace = x.clone();
                        c.fakeQuant("op", 0, inPlace, 0, inPlace, 0, x.length);
                        assertArrayEquals(y, inPlace, "in place");
                    }
                }
            }
        }
    }

    @Test
    void fakeQuantTakesOnlyItsLevels() {
        int[] levels = {0, 9, 10, 40, 41, 255};
        CodebookOperand c = CodebookOperand.nearest(3, 0.05f, 9, levels);
        float[] x = inputs(0.05f, 9, levels, 3), y = new float[x.length];
        c.fakeQuant("op", 0, x, 0, y, 0, x.length);
        java.util.Set<Float> seen = new java.util.TreeSet<>();
        for (float v : y) seen.add(v + 0f);
        java.util.Set<Float> allowed = new java.util.TreeSet<>();
        for (int l : levels) allowed.add((float) (l - 9) * 0.05f + 0f);
        assertEquals(allowed, seen, "every level is reached and nothing else");
    }

    @Test
    void integerCodesAreGridCodesWithTheZeroPoint() {
        int[] levels = {0, 20, 24, 31, 50, 90, 180, 255};
        int z = 24;
        float s = 0.031f;
        CodebookOperand c = new CodebookOperand(3, s, z, levels, randomStarts(new SplittableRandom(1), levels));
        CodeForm f = c.codeForm("op", 0, 1f, false);
        assertEquals(1, f.components());
        assertEquals(z, f.zeroPoint());
        assertEquals(255, f.maxAbs(false));
        assertFalse(f.int8());
        assertTrue(f.uint8());
        assertEquals("unsigned", f.storedLayout());
        float[] x = inputs(s, z, levels, 5);
        int[] q = new int[x.length], combined = new int[x.length];
        float[] rel = new float[x.length], y = new float[x.length];
        assertTrue(f.encode(x, 0, x.length, q, null, 0));
        assertTrue(f.encodeCombined(x, 0, x.length, combined, 0));
        f.encodeFloats("op", x, 0, x.length, rel, null, 0);
        c.fakeQuant("op", 0, x, 0, y, 0, x.length);
        for (int i = 0; i < x.length; i++) {
            assertTrue(Arrays.binarySearch(levels, q[i]) >= 0, "code " + q[i] + " is a level");
            assertEquals(q[i] - z, rel[i]);
            assertEquals(q[i], combined[i]);
            assertEquals(Float.floatToIntBits(y[i] + 0f), Float.floatToIntBits((q[i] - z) * s + 0f), "x " + x[i]);
        }
        x[7] = Float.NaN;
        assertFalse(f.encode(x, 0, x.length, q, null, 0), "a NaN is reported");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> f.encodeFloats("blocks.3.mlp.fc2", x, 0, x.length, rel, null, 0));
        assertTrue(e.getMessage().contains("blocks.3.mlp.fc2"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> c.fakeQuant("blocks.3.mlp.fc2", 0, x, 0, y, 0, x.length));
        assertTrue(e.getMessage().contains("blocks.3.mlp.fc2"), e.getMessage());
        assertThrows(UnsupportedOperationException.class, () -> f.encode(x, 0, 1, new byte[1], null, 0));
        e = assertThrows(IllegalArgumentException.class, () -> c.codeForm("blocks.0.attn.qkv", 0, 0.5f, false));
        assertTrue(e.getMessage().contains("blocks.0.attn.qkv"), e.getMessage());
    }

    @Test
    void constructorChecks() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(9, 0.1f, 3, new int[] {1}))
                .getMessage().contains("at most 8"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, 0.1f, 3, new int[] {1, 2, 3, 4, 5}))
                .getMessage().contains("5 levels for 2 bits"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, 0.1f, 3, new int[] {4, 4}))
                .getMessage().contains("increase"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, 0.1f, 3, new int[] {4, 256}))
                .getMessage().contains("level 256"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CodebookOperand(2, 0.1f, 3, new int[] {4, 9}, new int[] {0}))
                .getMessage().contains("1 segment starts for 2 levels"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CodebookOperand(2, 0.1f, 3, new int[] {4, 9}, new int[] {1, 5}))
                .getMessage().contains("starts at 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CodebookOperand(2, 0.1f, 3, new int[] {4, 9}, new int[] {0, 10}))
                .getMessage().contains("level 9 outside its segment [10, 255]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new CodebookOperand(2, 0.1f, 3, new int[] {4, 9}, new int[] {0, 4}))
                .getMessage().contains("level 4 outside its segment [0, 3]"));
        assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, 0.1f, 3, new int[] {-1}));
        assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, 0.1f, 3, new int[0]));
        assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, 0.1f, 256, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, 0f, 3, new int[] {1}));
        assertThrows(IllegalArgumentException.class, () -> CodebookOperand.nearest(2, Float.NaN, 3, new int[] {1}));
        int[] levels = {1, 2}, starts = {0, 2};
        CodebookOperand c = new CodebookOperand(2, 0.1f, 3, levels, starts);
        levels[0] = 7;
        starts[1] = 1;
        c.levels()[1] = 9;
        c.starts()[1] = 9;
        assertArrayEquals(new int[] {1, 2}, c.levels(), "the levels are copied in and out");
        assertArrayEquals(new int[] {0, 2}, c.starts(), "the starts are copied in and out");
    }

    @Test
    void onlyALinearInput() {
        CodebookOperand c = CodebookOperand.nearest(4, 0.1f, 3, new int[] {0, 3, 9});
        assertNull(c.refuses(OperandRole.LINEAR_INPUT));
        for (OperandRole r : new OperandRole[] {OperandRole.WEIGHT, OperandRole.HEAD_OPERAND, OperandRole.PROBABILITIES})
            assertNotNull(c.refuses(r), r.toString());
    }

    static QuantPlan plan(CodebookOperand c) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        ops.put("blocks.0.mlp.fc2", new LinearQuant(UniformOperand.perTensor(4, 0.01f), c));
        return new QuantPlan(new PlanInfo("m", "hand", 4, 4), ops);
    }

    @Test
    void planFileRoundTripIsExact() {
        int[] levels = {0, 4, 5, 6, 9, 14, 30, 77, 254};
        CodebookOperand c = new CodebookOperand(4, 0x1.fffffep-3f, 5, levels, randomStarts(new SplittableRandom(3), levels));
        String json = QuantPlanJson.toJson(plan(c));
        assertTrue(json.contains("\"quantizer\": \"codebook\""), json);
        QuantPlan back = QuantPlanJson.parse(json, "p.json");
        assertEquals(plan(c), back);
        assertEquals(c, back.linear("blocks.0.mlp.fc2").input());
        assertEquals("codebook/9-levels", c.summary());
    }

    @Test
    void malformedPlanFieldsAreNamed() {
        String ok = QuantPlanJson.toJson(plan(CodebookOperand.nearest(2, 0.25f, 3, new int[] {0, 3, 7})));
        String levels = ok.substring(ok.indexOf("\"levels\""), ok.indexOf(']', ok.indexOf("\"levels\"")) + 1);
        String starts = ok.substring(ok.indexOf("\"starts\""), ok.indexOf(']', ok.indexOf("\"starts\"")) + 1);
        for (String[] c : new String[][] {
                {levels, "\"levels\": [0, 3, 7, 9, 11]", "5 levels for 2 bits"},
                {starts, "\"starts\": [0, 2]", "2 segment starts for 3 levels"},
                {starts, "\"starts\": [0, 4, 6]", "level 3 outside its segment [4, 5]"},
                {starts, "\"starts\": [0, 2.5, 6]", "starts[1]"},
                {levels, "\"levels\": [0, 7, 3]", "increase"},
                {levels, "\"levels\": [0, 3.5, 7]", "levels[1]"},
                {levels, "\"levels\": []", "levels"},
                {levels, "\"levels\": 3", "levels"},
                {levels, "\"levels\": [0, 3, 300]", "level 300"},
                {"\"zeroPoint\": 3", "\"zeroPoint\": 256", "zero point 256"},
                {"\"scale\": 0.25", "\"scale\": 0", "scale"}}) {
            String bad = ok.replace(c[0], c[1]);
            assertFalse(bad.equals(ok), "the replacement applies: " + c[0] + " in " + ok);
            PlanFormatException e = assertThrows(PlanFormatException.class, () -> QuantPlanJson.parse(bad, "my-plan.json"));
            assertTrue(e.getMessage().contains("my-plan.json") && e.getMessage().contains(c[2]), e.getMessage());
        }
    }
}
