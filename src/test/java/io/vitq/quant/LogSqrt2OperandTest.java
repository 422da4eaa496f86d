package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The log√2 quantizer against RepQ-ViT's formula written out in double ({@link #reference}), its
 * edge cases (zero, one, denormals, negatives, the thresholds themselves, non-finite inputs), its
 * integer form (units times codes equal to the fake quant, value for value), its plan-file form and
 * its refusals.
 */
public class LogSqrt2OperandTest {

    /**
     * RepQ-ViT's {@code quantize}: {@code q = rint(-2 log2(x / δ))}, clamped below at 0, with vitq's
     * zero: a code at or past {@code 2^k - 1} (or x <= 0) gives 0; else {@code δ 2^(-q/2)}.
     */
    public static float reference(float x, int bits, float delta) {
        int zero = (1 << bits) - 1;
        if (!(x > 0)) return 0f;
        double q = Math.rint(-2 * Math.log((double) x / delta) / Math.log(2));
        if (q >= zero) return 0f;
        q = Math.max(0, q);
        return (float) (delta * Math.pow(2, -q / 2));
    }

    /** Random probabilities spread over 24 octaves below δ and a little above, log-uniform. */
    static float[] inputs(float delta, long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) (delta * Math.pow(2, 1 - 25 * r.nextDouble()));
        return x;
    }

    @Test
    void codesFollowRepqFormulaAwayFromThresholds() {
        for (int bits : new int[] {2, 3, 4, 6, 8}) {
            for (float delta : new float[] {1f, 0.37f, 0.0123f}) {
                LogSqrt2Operand q = new LogSqrt2Operand(bits, delta);
                float[] x = inputs(delta, bits * 31L, 20000);
                float[] y = new float[x.length];
                q.fakeQuant("op", 0, x, 0, y, 0, x.length);
                int checked = 0;
                for (int i = 0; i < x.length; i++) {
                    double e = -2 * Math.log((double) x[i] / delta) / Math.log(2);
                    if (Math.abs(e - Math.floor(e) - 0.5) < 1e-5) continue; // at a threshold, either code is right
                    float want = reference(x[i], bits, delta);
                    assertEquals(want, y[i], Math.ulp(want), "bits " + bits + " delta " + delta + " x " + x[i]);
                    checked++;
                }
                assertTrue(checked > 19000, "checked " + checked);
            }
        }
    }

    @Test
    void levelsAreExactPowersOfTwoOfDeltaAndItsSqrt2() {
        LogSqrt2Operand q = new LogSqrt2Operand(4, 0.3f);
        float odd = (float) (0.3f * Math.sqrt(2));
        assertEquals(0.3f, q.level(0));
        assertEquals(odd / 2, q.level(1));
        assertEquals(0.3f / 2, q.level(2));
        assertEquals(0.3f / 128, q.level(14));
        assertEquals(0f, q.level(15), "code 2^k - 1 is zero");
        assertThrows(IllegalArgumentException.class, () -> q.level(16));
        for (int c = 1; c < 15; c++) assertTrue(q.level(c) < q.level(c - 1), "levels decrease with the code");
    }

    @Test
    void edgeCases() {
        LogSqrt2Operand q = new LogSqrt2Operand(4, 0.25f);
        float[] thr = q.thresholds();
        float[] x = {0f, -0f, 1f, 0.25f, Float.MIN_VALUE, Float.MIN_NORMAL, -0.5f, 1e-30f, thr[0], Math.nextUp(thr[0]), thr[5],
                Math.nextUp(thr[5]), thr[14], Math.nextUp(thr[14]), Float.MAX_VALUE};
        float[] y = new float[x.length];
        q.fakeQuant("op", 0, x, 0, y, 0, x.length);
        float[] want = {0f, 0f, 0.25f, 0.25f, 0f, 0f, 0f, 0f, q.level(1), q.level(0), q.level(6), q.level(5), 0f, q.level(14),
                0.25f};
        for (int i = 0; i < x.length; i++) assertEquals(want[i], y[i], "x = " + x[i]);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> q.fakeQuant("blocks.3.attn.matmul2", 0, new float[] {0.1f, bad}, 0, new float[2], 0, 2));
            assertTrue(e.getMessage().contains("blocks.3.attn.matmul2") && e.getMessage().contains("index 1"), e.getMessage());
        }
    }

    /** unit(0) c0 + unit(1) c1 is the fake-quant value exactly; the stored code reads back as q; 2-3 bits fit int8. */
    @Test
    void integerFormGivesTheFakeQuantValues() {
        for (int bits = 2; bits <= LogSqrt2Operand.MAX_INTEGER_BITS; bits++) {
            LogSqrt2Operand q = new LogSqrt2Operand(bits, 0.61f);
            CodeForm f = q.codeForm("op", 0, 1f, false);
            assertEquals(2, f.components());
            assertEquals(-1, f.shift());
            assertEquals(bits <= 3, f.int8(), "int8 codes at " + bits + " bits");
            float[] x = inputs(0.61f, bits, 5000);
            float[] y = new float[x.length];
            q.fakeQuant("op", 0, x, 0, y, 0, x.length);
            int[] c0 = new int[x.length], c1 = new int[x.length];
            assertTrue(f.encode(x, 0, x.length, c0, c1, 0));
            float[] f0 = new float[x.length], f1 = new float[x.length];
            f.encodeFloats("op", x, 0, x.length, f0, f1, 0);
            int[] seen = new int[1 << bits];
            int[] codes = new int[x.length];
            q.codes("op", x, 0, codes, 0, x.length);
            for (int i = 0; i < x.length; i++) {
                assertTrue(c0[i] == 0 || c1[i] == 0, "one component at a time");
                assertTrue(Math.max(c0[i], c1[i]) <= f.maxAbs(false));
                assertEquals(y[i], f.unit(0) * c0[i] + f.unit(1) * c1[i], "x " + x[i]);
                assertEquals(c0[i], (int) f0[i]);
                assertEquals(c1[i], (int) f1[i]);
                assertEquals(codes[i], f.storedCode(c0[i], c1[i]));
                seen[codes[i]]++;
            }
            for (int c = 0; c < seen.length; c++) assertTrue(seen[c] > 0, bits + " bits: code " + c + " never seen");
            if (f.int8()) {
                byte[] b0 = new byte[x.length], b1 = new byte[x.length];
                assertTrue(f.encode(x, 0, x.length, b0, b1, 0));
                for (int i = 0; i < x.length; i++) assertEquals(c0[i] + c1[i], b0[i] + b1[i]);
            }
            assertFalse(f.encode(new float[] {Float.NaN}, 0, 1, new int[1], new int[1], 0));
        }
    }

    @Test
    void noIntegerFormAboveFourBits() {
        LogSqrt2Operand q = new LogSqrt2Operand(6, 0.5f);
        assertNotNull(q.codeFormMissing());
        assertNull(new LogSqrt2Operand(4, 0.5f).codeFormMissing());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.codeForm("blocks.0.attn.matmul2", 0, 1f, false));
        assertTrue(e.getMessage().startsWith("blocks.0.attn.matmul2: log-sqrt2 at 6 bits has no integer form"), e.getMessage());
    }

    @Test
    void refusalsAndPlanForm() throws Exception {
        assertThrows(IllegalArgumentException.class, () -> new LogSqrt2Operand(9, 0.5f));
        assertThrows(IllegalArgumentException.class, () -> new LogSqrt2Operand(4, 0f));
        assertThrows(IllegalArgumentException.class, () -> new LogSqrt2Operand(4, Float.NaN));
        LogSqrt2Operand q = new LogSqrt2Operand(4, 0.5f);
        assertNull(q.refuses(OperandRole.PROBABILITIES));
        assertNotNull(q.refuses(OperandRole.LINEAR_INPUT));
        assertNotNull(q.refuses(OperandRole.HEAD_OPERAND));
        java.io.StringWriter w = new java.io.StringWriter();
        try (var g = new com.fasterxml.jackson.core.JsonFactory().createGenerator(w)) {
            g.writeStartObject();
            g.writeStringField("quantizer", q.quantizerName());
            g.writeNumberField("bits", q.bits());
            q.writeJson(g);
            g.writeEndObject();
        }
        assertEquals("{\"quantizer\":\"log-sqrt2\",\"bits\":4,\"delta\":0.5}", w.toString());
    }
}
