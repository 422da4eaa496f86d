package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * AdaLog's quantizer against AdaLog's formulas written out in double ({@link #reference}), its edge
 * cases (zero, one, denormals, negatives, values above the scale, the thresholds themselves,
 * non-finite inputs), the vectorised fake quant against the scalar codes at every length, its
 * plan-file form and its refusals.
 */
public class AdaLogOperandTest {

    /**
     * AdaLog's {@code AdaLogQuantizer.forward} in evaluation: {@code y = clamp((x + shift) / scale,
     * 1e-15, 1)}, {@code c = rint(-log2(y) · 37 / q)}, clamped below at 0; with vitq's zero, a code at
     * or past {@code 2^k - 1} gives the zero; else {@code 2^(-⌊c q / 37⌋) · table[(c q) mod 37]},
     * {@code table[j] = rint(2^(-j/37) (2^(k+1) - 2)) / (2^(k+1) - 2)}; times scale, minus the shift.
     */
    public static float reference(float x, int bits, int q, float scale, float shift) {
        int zero = (1 << bits) - 1;
        double y = Math.min(Math.max(((double) x + shift) / scale, 1e-15), 1.0);
        double c = Math.max(0, Math.rint(-Math.log(y) / Math.log(2) * 37 / q));
        if (c >= zero) return (float) (0.0 - shift);
        long cq = (long) c * q;
        double d = (1 << (bits + 1)) - 2;
        double table = Math.rint(Math.pow(2, -(double) (cq % 37) / 37) * d) / d;
        return (float) (Math.pow(2, -(double) (cq / 37)) * table * scale - shift);
    }

    /** Values spread log-uniformly over 30 octaves below the scale and a little above, shifted back. */
    static float[] inputs(float scale, float shift, long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (scale * Math.pow(2, 1 - 30 * r.nextDouble()) - shift);
        return x;
    }

    @Test
    void codesFollowAdaLogsFormulaAwayFromThresholds() {
        for (int bits : new int[] {3, 4, 6, 8})
            for (int q : new int[] {10, 37, 55, 137})
                for (float[] ss : new float[][] {{1f, 0f}, {2.7f, AdaLogOperand.GELU_SHIFT}}) {
                    AdaLogOperand a = new AdaLogOperand(bits, q, ss[0], ss[1]);
                    float[] x = inputs(ss[0], ss[1], bits * 131L + q, 5000);
                    float[] y = new float[x.length];
                    a.fakeQuant("op", 0, x, 0, y, 0, x.length);
                    int checked = 0;
                    for (int i = 0; i < x.length; i++) {
                        double e = -Math.log(((double) x[i] + ss[1]) / ss[0]) / Math.log(2) * 37 / q;
                        if (Math.abs(e - Math.floor(e) - 0.5) < 1e-4) continue; // at a threshold, either code is right
                        float want = reference(x[i], bits, q, ss[0], ss[1]);
                        assertEquals(want, y[i], 2 * Math.ulp(want) + 2 * Math.ulp(ss[1]), a + " x " + x[i]);
                        checked++;
                    }
                    assertTrue(checked > 4900, "checked " + checked);
                }
    }

    @Test
    void baseTwoIsPowersOfTwo() {
        // q = 37: every fractional part is 0, the table's entry 1, so the levels are scale * 2^-c exactly
        AdaLogOperand a = new AdaLogOperand(4, 37, 0.75f, 0f);
        for (int c = 0; c < a.zeroCode(); c++) assertEquals(Math.scalb(0.75f, -c), a.value(c), "code " + c);
        assertEquals(0f, a.value(a.zeroCode()));
    }

    @Test
    void tableEntriesAreOnTheGridOfTwoToTheKPlusOneMinusTwo() {
        AdaLogOperand a = new AdaLogOperand(4, 23, 1f, 0f);
        for (int c = 0; c < a.zeroCode(); c++) {
            double mantissa = a.unit(c) * Math.pow(2, Math.floor(c * 23 / 37.0));
            assertEquals(Math.rint(mantissa * 30), mantissa * 30, 1e-12, "code " + c + " mantissa " + mantissa);
            assertTrue(mantissa >= 0.5 && mantissa <= 1, "code " + c + " mantissa " + mantissa);
        }
    }

    @Test
    void edgeCases() {
        for (float shift : new float[] {0f, AdaLogOperand.GELU_SHIFT}) {
            AdaLogOperand a = new AdaLogOperand(4, 29, 1.3f, shift);
            float zero = a.value(a.zeroCode());
            assertEquals(0f - shift, zero);
            float[] x = {-shift, 0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-30f, -5f, 1.3f - shift, 1f, 100f, Float.MAX_VALUE};
            float[] y = new float[x.length];
            a.fakeQuant("op", 0, x, 0, y, 0, x.length);
            assertEquals(zero, y[0], "exactly -shift: zero");
            assertEquals(reference(0f, 4, 29, 1.3f, shift), y[1], 1e-7f, "zero");
            assertEquals(reference(1e-30f, 4, 29, 1.3f, shift), y[4], 1e-7f, "1e-30");
            assertEquals(zero, y[5], "far below: zero");
            assertEquals(a.value(0), y[6], "the scale itself: code 0");
            assertEquals(a.value(0), y[8], "above the scale: code 0");
            assertEquals(a.value(0), y[9], "the largest float: code 0");
            if (shift == 0) {
                assertEquals(zero, y[2], "a denormal: zero");
                assertEquals(zero, y[3], "a negative denormal: zero");
            }
        }
    }

    @Test
    void thresholdsSplitNeighbouringCodes() {
        AdaLogOperand a = new AdaLogOperand(4, 41, 1f, 0f);
        float[] t = a.thresholds();
        for (int i = 0; i < t.length; i++) {
            assertEquals(i + 1, a.code(t[i]), "at T_" + i);
            assertEquals(i, a.code(Math.nextUp(t[i])), "just above T_" + i);
        }
    }

    @Test
    void vectorLanesAndTailsEqualTheScalarCodes() {
        AdaLogOperand a = new AdaLogOperand(4, 47, 0.9f, AdaLogOperand.GELU_SHIFT);
        for (int n : new int[] {1, 7, 15, 16, 17, 33, 2047, 2048, 2049, 5000}) {
            float[] x = inputs(0.9f, AdaLogOperand.GELU_SHIFT, n, n + 3);
            float[] y = new float[n + 3];
            a.fakeQuant("op", 0, x, 3, y, 1, n);
            for (int i = 0; i < n; i++) assertEquals(a.value(a.code(x[3 + i])), y[1 + i], "n " + n + " i " + i);
        }
    }

    @Test
    void nonFiniteInputsNameTheOp() {
        AdaLogOperand a = AdaLogOperand.probabilities(4, 30);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            float[] x = new float[40];
            x[37] = bad;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> a.fakeQuant("blocks.3.attn.matmul2", 0, x, 0, new float[40], 0, 40));
            assertTrue(e.getMessage().contains("blocks.3.attn.matmul2") && e.getMessage().contains("index 37"), e.getMessage());
        }
    }

    @Test
    void refusesBadParametersAndOtherRoles() {
        assertThrows(IllegalArgumentException.class, () -> new AdaLogOperand(4, 0, 1f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new AdaLogOperand(4, 10, 0f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new AdaLogOperand(4, 10, 1f, -0.1f));
        assertThrows(IllegalArgumentException.class, () -> new AdaLogOperand(9, 10, 1f, 0f));
        AdaLogOperand a = AdaLogOperand.probabilities(4, 30);
        assertNotNull(a.refuses(OperandRole.WEIGHT));
        assertNotNull(a.refuses(OperandRole.HEAD_OPERAND));
        assertEquals(null, a.refuses(OperandRole.PROBABILITIES));
        assertEquals(null, a.refuses(OperandRole.LINEAR_INPUT));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.codeForm("blocks.0.attn.matmul2", 0, 0.5f, false));
        assertTrue(e.getMessage().startsWith("blocks.0.attn.matmul2: ") && e.getMessage().contains("no pre-scale"), e.getMessage());
        // a scale below the shift: the grid's zero would lie past its top code
        AdaLogOperand small = new AdaLogOperand(4, 20, 0.1f, AdaLogOperand.GELU_SHIFT);
        assertNotNull(small.codeFormMissing());
        e = assertThrows(IllegalArgumentException.class, () -> small.codeForm("blocks.0.mlp.fc2", 0, 1f, false));
        assertTrue(e.getMessage().startsWith("blocks.0.mlp.fc2: ") && e.getMessage().contains("no integer form"), e.getMessage());
    }

    /**
     * The integer form (the class comment's grid): each code's grid code is {@code rint(u_c (2^G - 1)) - z}
     * written out here in double; its value {@code step · s} is within a step of AdaLog's level (half a
     * step of rounding, and the shift's rounding to the grid); the encoders give that grid code for
     * the fake quant's code of every input (zeros, negatives below the shift, values above the scale,
     * denormals, the thresholds themselves), split as {@code c0 + c1 · 2^7} with c0 in 0..127 and c1 an
     * int8; a NaN is refused.
     */
    @Test
    void gridFormHoldsTheCodesAndNearlyTheLevels() {
        for (AdaLogOperand a : new AdaLogOperand[] {AdaLogOperand.probabilities(4, 30), AdaLogOperand.probabilities(3, 10),
                AdaLogOperand.probabilities(6, 37), AdaLogOperand.probabilities(8, 137), new AdaLogOperand(4, 16, 3.2874f, AdaLogOperand.GELU_SHIFT),
                new AdaLogOperand(6, 28, 216.91f, AdaLogOperand.GELU_SHIFT), new AdaLogOperand(3, 41, 0.2f, AdaLogOperand.GELU_SHIFT)}) {
            int G = 14, top = (1 << G) - 1;
            assertEquals(G, a.gridBits(), a.toString());
            float step = a.gridStep();
            assertEquals(a.scale() / (float) top, step, a.toString());
            long z = (long) Math.rint(a.shift() / step);
            assertEquals(z, a.gridZero(), a.toString());
            int[] s = a.gridCodes();
            for (int c = 0; c <= a.zeroCode(); c++) {
                long expect = (long) Math.rint(a.unit(c) * top) - z;
                assertEquals(expect, s[c], a + " code " + c);
                assertTrue(Math.abs((double) step * s[c] - a.value(c)) <= 1.01 * step, a + " code " + c + ": " + step * s[c] + " vs " + a.value(c));
            }
            CodeForm f = a.codeForm("op", 0, 1f, false);
            assertEquals(2, f.components());
            assertEquals(7, f.shift());
            assertEquals(0, f.zeroPoint());
            assertEquals(step, f.unit(0));
            assertEquals(step * 128, f.unit(1));
            float[] x = inputs(a.scale(), a.shift(), 3 + a.bits(), 997);
            float[] thr = a.thresholds();
            for (int i = 0; i < Math.min(thr.length, 40); i++) x[i] = thr[i] - a.shift();
            x[40] = 0f;
            x[41] = -a.shift() - 5f;
            x[42] = Float.MIN_VALUE;
            x[43] = 10 * a.scale();
            int n = x.length;
            int[] c0 = new int[n], c1 = new int[n], comb = new int[n];
            byte[] b0 = new byte[n], b1 = new byte[n];
            float[] f0 = new float[n], f1 = new float[n];
            assertTrue(f.encode(x, 0, n, c0, c1, 0) && f.encode(x, 0, n, b0, b1, 0) && f.encodeCombined(x, 0, n, comb, 0));
            f.encodeFloats("op", x, 0, n, f0, f1, 0);
            long maxAbs = 0;
            for (int i = 0; i < n; i++) {
                int want = s[a.code(x[i])];
                maxAbs = Math.max(maxAbs, Math.abs(want));
                assertEquals(want, comb[i], a + " x " + x[i]);
                assertTrue(c0[i] >= 0 && c0[i] <= 127 && c1[i] >= -128 && c1[i] <= 127, a + " x " + x[i]);
                assertEquals(want, c0[i] + c1[i] * 128, a + " x " + x[i]);
                assertEquals(want, f.storedCode(c0[i], c1[i]));
                assertEquals(c0[i], b0[i]);
                assertEquals(c1[i], b1[i]);
                assertEquals(c0[i], f0[i]);
                assertEquals(c1[i], f1[i]);
            }
            assertTrue(maxAbs <= f.maxAbs(true), a.toString());
            for (int code : s) assertTrue(Math.abs(code) <= f.maxAbs(true) && Math.max(code & 127, Math.abs(code >> 7)) <= f.maxAbs(false), a + " " + code);
            x[5] = Float.NaN;
            assertTrue(!f.encode(x, 0, n, c0, c1, 0) && !f.encodeCombined(x, 0, n, comb, 0));
            assertThrows(IllegalArgumentException.class, () -> f.encodeFloats("op", x, 0, n, f0, f1, 0));
        }
    }

    @Test
    void planFileRoundTrip() throws Exception {
        AdaLogOperand a = new AdaLogOperand(4, 53, 2.5f, AdaLogOperand.GELU_SHIFT);
        java.io.StringWriter w = new java.io.StringWriter();
        try (com.fasterxml.jackson.core.JsonGenerator g = new com.fasterxml.jackson.core.JsonFactory().createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("quantizer", a.quantizerName());
            g.writeNumberField("bits", a.bits());
            a.writeJson(g);
            g.writeEndObject();
        }
        String json = w.toString();
        assertTrue(json.contains("\"q\":53") && json.contains("\"shift\""), json);
        com.fasterxml.jackson.databind.JsonNode node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        assertEquals(a, OperandQuant.fromJson(new PlanFields("test", node, "op")));
    }
}
