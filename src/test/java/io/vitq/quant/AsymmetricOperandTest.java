package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The asymmetric quantizer against its definition written out in float64 and then rounded as
 * vitq rounds ({@code q = clamp(rint(fl(x / s)) + z, 0, 2^k - 1)}, {@code fl((q - z) · s)}), its codes,
 * its plan-file form and its refusals.
 */
class AsymmetricOperandTest {

    /** The definition, element by element. */
    static float reference(float x, int bits, float s, int z) {
        float d = x / s;                              // QuantizeLinear's float division
        double q = Math.rint(d) + z;
        q = Math.max(0, Math.min((1 << bits) - 1, q));
        return (float) (q - z) * s;                   // DequantizeLinear: (q - z) exactly, one float product
    }

    static float[] inputs(int bits, float s, int z, long seed) {
        int top = (1 << bits) - 1, n = 3000;
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) r.nextDouble((-z - 5) * s, (top - z + 5) * s);
        int j = 0;
        for (int c = -z - 2; c <= top - z + 2 && j + 4 < n; c++) {
            x[j++] = (c + 0.5f) * s;
            x[j++] = c * s;
            x[j++] = Math.nextUp((c + 0.5f) * s);
            x[j++] = Math.nextDown((c + 0.5f) * s);
        }
        x[n - 1] = 0f;
        x[n - 2] = -0f;
        x[n - 3] = 1e30f;
        x[n - 4] = -1e30f;
        return x;
    }

    @Test
    void fakeQuantIsTheDefinitionBitForBit() {
        for (int bits = 2; bits <= 8; bits++) {
            int top = (1 << bits) - 1;
            for (int z : new int[] {0, 1, top / 2, (top + 1) / 2, top}) {
                for (float s : new float[] {0.0173f, 0.1f, 3e-5f}) {
                    AsymmetricOperand a = new AsymmetricOperand(bits, s, z);
                    float[] x = inputs(bits, s, z, bits * 97L + z), y = new float[x.length];
                    a.fakeQuant("op", 0, x, 0, y, 0, x.length);
                    for (int i = 0; i < x.length; i++)
                        assertEquals(Float.floatToIntBits(reference(x[i], bits, s, z) + 0f), Float.floatToIntBits(y[i] + 0f),
                                "bits " + bits + " z " + z + " s " + s + " x " + x[i]);
                }
            }
        }
    }

    @Test
    void codesAreUnsignedWithTheZeroPoint() {
        int bits = 8, z = 37;
        float s = 0.05f;
        AsymmetricOperand a = new AsymmetricOperand(bits, s, z);
        CodeForm f = a.codeForm("op", 0, 1f, false);
        assertEquals(1, f.components());
        assertEquals(z, f.zeroPoint());
        assertEquals(255, f.maxAbs(false), "the stored codes reach 255: the int32 bound uses them");
        assertFalse(f.int8());
        assertTrue(f.uint8(), "one component of unsigned bytes");
        assertFalse(UniformOperand.perTensor(8, s).codeForm("op", 0, 1f, false).uint8(), "signed codes are not");
        assertEquals(s, f.unit(0));
        float[] x = inputs(bits, s, z, 3);
        int[] q = new int[x.length];
        float[] rel = new float[x.length], y = new float[x.length];
        assertTrue(f.encode(x, 0, x.length, q, null, 0));
        f.encodeFloats("op", x, 0, x.length, rel, null, 0);
        a.fakeQuant("op", 0, x, 0, y, 0, x.length);
        boolean low = false, high = false;
        for (int i = 0; i < x.length; i++) {
            assertTrue(q[i] >= 0 && q[i] <= 255, "code " + q[i]);
            assertEquals(q[i] - z, rel[i], "code values are q - z");
            assertEquals(y[i] + 0f, (q[i] - z) * s, "dequantized: (q - z) s (a signed zero aside)");
            low |= q[i] == 0;
            high |= q[i] == 255;
        }
        assertTrue(low && high, "both ends of the code range are reached");
        int[] combined = new int[x.length];
        assertTrue(f.encodeCombined(x, 0, x.length, combined, 0));
        assertEquals(java.util.Arrays.toString(q), java.util.Arrays.toString(combined));
        x[5] = Float.NaN;
        assertFalse(f.encode(x, 0, x.length, q, null, 0), "a NaN is reported");
        assertThrows(UnsupportedOperationException.class, () -> f.encode(x, 0, 1, new byte[1], null, 0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.codeForm("blocks.0.attn.qkv", 0, 0.5f, false));
        assertTrue(e.getMessage().contains("blocks.0.attn.qkv"), e.getMessage());
    }

    @Test
    void constructorChecks() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new AsymmetricOperand(9, 0.1f, 3)).getMessage().contains("at most 8"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new AsymmetricOperand(8, 0.1f, 256)).getMessage().contains("zero point 256"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new AsymmetricOperand(4, 0.1f, 16)).getMessage().contains("[0, 15]"));
        assertThrows(IllegalArgumentException.class, () -> new AsymmetricOperand(8, 0.1f, -1));
        assertThrows(IllegalArgumentException.class, () -> new AsymmetricOperand(8, 0f, 3));
        assertThrows(IllegalArgumentException.class, () -> new AsymmetricOperand(8, Float.NaN, 3));
        assertThrows(IllegalArgumentException.class, () -> new AsymmetricOperand(1, 0.1f, 0));
    }

    @Test
    void onlyALinearInput() {
        AsymmetricOperand a = new AsymmetricOperand(8, 0.1f, 3);
        assertNull(a.refuses(OperandRole.LINEAR_INPUT));
        for (OperandRole r : new OperandRole[] {OperandRole.WEIGHT, OperandRole.HEAD_OPERAND, OperandRole.PROBABILITIES})
            assertNotNull(a.refuses(r), r.toString());
        assertThrows(IllegalArgumentException.class, () -> new MatmulQuant(a, UniformOperand.perTensor(8, 0.1f)));
        assertThrows(IllegalArgumentException.class, () -> new MatmulQuant(null, a));
    }

    static QuantPlan plan(AsymmetricOperand a) {
        Map<String, OpQuant> ops = new LinkedHashMap<>();
        ops.put("blocks.0.attn.qkv", new LinearQuant(UniformOperand.perTensor(8, 0.01f), a));
        return new QuantPlan(new PlanInfo("m", "hand", 8, 8), ops);
    }

    @Test
    void planFileRoundTripIsExact() {
        AsymmetricOperand a = new AsymmetricOperand(6, 0x1.fffffep-3f, 41);
        String json = QuantPlanJson.toJson(plan(a));
        assertTrue(json.contains("\"quantizer\": \"asymmetric\""), json);
        assertTrue(json.contains("\"zeroPoint\": 41"), json);
        QuantPlan back = QuantPlanJson.parse(json, "p.json");
        assertEquals(plan(a), back);
        assertEquals(a, back.linear("blocks.0.attn.qkv").input());
        assertEquals("asymmetric/per-tensor", a.summary());
    }

    @Test
    void malformedPlanFieldsAreNamed() {
        String ok = QuantPlanJson.toJson(plan(new AsymmetricOperand(8, 0.25f, 128)));
        for (String[] c : new String[][] {
                {"\"zeroPoint\": 128", "\"zeroPoint\": 300", "zero point 300"},
                {"\"zeroPoint\": 128", "\"zeroPoint\": 1.5", "zeroPoint"},
                {"\"zeroPoint\": 128", "\"zero\": 128", "zero"},
                {"\"zeroPoint\": 128", "\"zeroPoint\": 128, \"granularity\": \"per-tensor\"", "granularity"},
                {"\"scale\": 0.25", "\"scale\": -0.25", "scale"}}) {
            String bad = ok.replace(c[0], c[1]);
            assertFalse(bad.equals(ok), "the replacement applies: " + c[0] + " in " + ok);
            PlanFormatException e = assertThrows(PlanFormatException.class, () -> QuantPlanJson.parse(bad, "my-plan.json"));
            assertTrue(e.getMessage().contains("my-plan.json") && e.getMessage().contains(c[2]), e.getMessage());
        }
    }
}
