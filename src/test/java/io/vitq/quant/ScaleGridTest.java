package io.vitq.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class ScaleGridTest {

    @Test
    void initScaleUsesTheReferenceDivisor() {
        assertEquals(127.5f, ScaleGrid.initDivisor(8));
        assertEquals(31.5f, ScaleGrid.initDivisor(6));
        assertEquals(1.5f, ScaleGrid.initDivisor(2));
        assertEquals(2.55f / 127.5f, ScaleGrid.initScale("head", 2.55f, 8));
        assertEquals(0.7f / 31.5f, ScaleGrid.initScale("head", 0.7f, 6));
    }

    @Test
    void allZeroTensorsGetAPositiveFallbackThatQuantizesToZero() {
        float s = ScaleGrid.initScale("blocks.0.mlp.fc2", 0f, 8);
        assertEquals(ScaleGrid.ZERO_TENSOR_SCALE, s);
        assertEquals(ScaleGrid.ZERO_TENSOR_SCALE, ScaleGrid.initScale("x", Float.MIN_VALUE, 8)); // underflow
        UniformQuantizer q = new UniformQuantizer(8);
        float[] zeros = new float[37], out = new float[37];
        q.fakeQuant("blocks.0.mlp.fc2", s, zeros, 0, out, 0, 37);
        assertArrayEquals(zeros, out);
        // every candidate of both published grids stays a valid scale
        for (float c : ScaleGrid.candidates(s, 0.01, 1.2, 100)) assertTrue(c > 0);
        assertEquals(ScaleGrid.ZERO_TENSOR_SCALE, ScaleGrid.geluPositiveInit("fc2", -0.1f, 8));
        assertEquals(3f / 127.5f, ScaleGrid.geluPositiveInit("fc2", 3f, 8));
    }

    @Test
    void initScaleRejectsNonFiniteMaxima() {
        for (float m : new float[] {Float.NaN, Float.POSITIVE_INFINITY, -1f}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScaleGrid.initScale("blocks.2.attn.proj", m, 8));
            assertTrue(e.getMessage().contains("blocks.2.attn.proj"));
        }
    }

    @Test
    void multiplierGridHasNPlusOneValuesOfWhichNAreScored() {
        float[] m = ScaleGrid.multipliers(0.5, 1.2, 100);
        assertEquals(101, m.length);
        assertEquals(0.5f, m[0]);
        assertEquals(1.2f, m[100]);
        assertEquals((float) (0.5 + 99 * 0.7 / 100), m[99]);
        float[] c = ScaleGrid.candidates(0.01f, 0.5, 1.2, 100);
        assertEquals(100, c.length);
        for (int i = 0; i < 100; i++) assertEquals(m[i] * 0.01f, c[i]);
        float[] p = ScaleGrid.multipliers(0.01, 1.2, 100);
        assertEquals(0.01f, p[0]);
        assertEquals(1.1881f, p[99], 1e-6f);
        assertThrows(IllegalArgumentException.class, () -> ScaleGrid.multipliers(0, 1.2, 100));
        assertThrows(IllegalArgumentException.class, () -> ScaleGrid.multipliers(0.5, 0.4, 100));
        assertThrows(IllegalArgumentException.class, () -> ScaleGrid.multipliers(0.5, 1.2, 0));
    }

    /** Every scale the reference BasePTQ picked for ViT-Ti (W8A8 and W6A6) is one of our candidates, bit for bit. */
    @Test
    void referenceChoicesAreOnOurGrid() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("/quant/reference_grid_choices.json")) {
            root = new ObjectMapper().readTree(in);
        }
        int checked = 0;
        for (JsonNode e : root.get("entries")) {
            JsonNode init = e.get("init"), chosen = e.get("chosen");
            for (int i = 0; i < chosen.size(); i++) {
                float start = (float) init.get(init.size() == 1 ? 0 : i).doubleValue();
                float pick = (float) chosen.get(i).doubleValue();
                float[] c = ScaleGrid.candidates(start, e.get("alpha").doubleValue(), e.get("beta").doubleValue(), e.get("n").intValue());
                boolean found = false;
                for (float v : c) found |= v == pick;
                assertTrue(found, e.get("op") + " " + e.get("operand") + "[" + i + "] = " + pick + " is not a candidate of " + start);
                checked++;
            }
        }
        assertTrue(checked > 500, "checked " + checked);
    }

    @Test
    void softmaxSplitsAndGeluPowerOfTwoSteps() {
        float[] s = ScaleGrid.softmaxSplits();
        assertEquals(20, s.length);
        assertEquals(1f, s[0]);
        assertEquals(0.5f, s[1]);
        assertEquals(0x1p-19f, s[19]);
        for (float v : s) new TwinSoftmaxQuantizer(8, v); // all valid splits
        float[] g = ScaleGrid.geluPowerOfTwoSteps(8, ScaleGrid.GELU_MAX_SHIFT);
        assertEquals(16, g.length);
        for (int m = 0; m < g.length; m++) {
            TwinGeluQuantizer q = new TwinGeluQuantizer(8, g[m]);
            assertTrue(q.isPowerOfTwo());
            assertEquals(m, q.shift());
        }
    }

    @Test
    void maxReductions() {
        float[] x = new float[100];
        for (int i = 0; i < 100; i++) x[i] = (i % 7) - 3.5f * (i % 3);
        x[61] = -9.25f;
        x[98] = 8f;
        assertEquals(9.25f, ScaleGrid.maxAbs("op", x, 0, 100));
        assertEquals(8f, ScaleGrid.max("op", x, 0, 100));
        assertEquals(6f, ScaleGrid.maxAbs("op", x, 0, 7));
        assertEquals(0f, ScaleGrid.maxAbs("op", x, 5, 0));
        for (int pos : new int[] {3, 40, 99}) {
            for (float bad : new float[] {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY}) {
                float[] y = x.clone();
                y[pos] = bad;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ScaleGrid.maxAbs("blocks.1.mlp.fc1", y, 0, 100));
                assertTrue(e.getMessage().contains("blocks.1.mlp.fc1") && e.getMessage().contains("index " + pos), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> ScaleGrid.max("blocks.1.mlp.fc1", y, 0, 100));
            }
        }
    }
}
