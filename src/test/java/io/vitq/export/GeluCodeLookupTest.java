package io.vitq.export;

import io.vitq.quant.AdaLogOperand;
import io.vitq.quant.CodeTables;
import io.vitq.tensor.VectorMath;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * fc2's AdaLog input as one lookup of fc1's output ({@link GeluCodeLookup}), against a restatement
 * in Java: the grid covers every h at which the code changes, ONNX Runtime reads the tables at the
 * grid point QuantizeLinear gives, and the lookup's codes differ from the exact
 * {@code code(gelu(h))} only next to a code boundary, by one code.
 */
class GeluCodeLookupTest {

    /**
     * fc2-style operands (GELU's shift) of the kinds the recipe searches, 3 to 8 bits, small and large
     * bases and scales; and the edges: a scale near the shift (the code constant above h = 0), 8 bits
     * with the largest base (thresholds down to denormals and zero), a scale ten times ViT-Ti's.
     */
    static List<AdaLogOperand> operands() {
        float s = AdaLogOperand.GELU_SHIFT;
        return List.of(new AdaLogOperand(4, 137, 6.45f, s), new AdaLogOperand(4, 30, 2.5f, s), new AdaLogOperand(6, 60, 8f, s),
                new AdaLogOperand(6, 12, 11f, s), new AdaLogOperand(8, 20, 3f, s), new AdaLogOperand(3, 100, 5f, s),
                new AdaLogOperand(4, 137, 0.25f, s), new AdaLogOperand(8, 137, 6f, s), new AdaLogOperand(4, 30, 60f, s));
    }

    private static int exactCode(CodeTables t, float h) { return t.code(VectorMath.gelu(h)); }

    private static int lookupCode(CodeTables t, GeluCodeLookup.Grid grid, float h) {
        return exactCode(t, grid.point(grid.index(h)));
    }

    /** The value of code c: the sum of its parts. */
    private static double value(CodeTables t, int c) {
        double v = 0;
        for (int i = 0; i < t.partCount(); i++) v += (double) t.units()[i] * (t.tables()[i][c] - t.zeroPoints()[i]);
        return v;
    }

    @Test
    void theGridHoldsEveryCodeChange() {
        for (AdaLogOperand a : operands()) {
            CodeTables t = a.gridCodeTables();
            GeluCodeLookup.Grid grid = GeluCodeLookup.grid(t);
            float first = grid.point(0), last = grid.point(GeluCodeLookup.POINTS - 1);
            int below = exactCode(t, first), above = exactCode(t, last);
            assertTrue(first < -0.75f && last >= 0f, a + ": the grid spans GELU's minimum and zero: " + first + " .. " + last);
            for (double h = first; h > -200; h -= 1e-3 * Math.max(1, -h))
                assertEquals(below, exactCode(t, (float) h), a + ": the code at h = " + h + ", below the grid");
            for (double h = last; h < 1e4; h += 1e-3 * Math.max(1, h))
                assertEquals(above, exactCode(t, (float) h), a + ": the code at h = " + h + ", above the grid");
            // and no wider than it must be: the code changes within 8 points of the top
            assertTrue(exactCode(t, grid.point(GeluCodeLookup.POINTS - 9)) != above || last < 1e-3f, a + ": a grid wider than its codes");
        }
    }

    @Test
    void lookupDiffersFromTheExactCodeOnlyNextToABoundary() {
        SplittableRandom r = new SplittableRandom(7);
        for (AdaLogOperand a : operands()) {
            CodeTables t = a.gridCodeTables();
            GeluCodeLookup.Grid grid = GeluCodeLookup.grid(t);
            int n = 1_000_000, differ = 0;
            for (int i = 0; i < n; i++) {
                float h = (float) (r.nextGaussian() * 2 - 0.5);
                int exact = exactCode(t, h), looked = lookupCode(t, grid, h);
                if (exact == looked) continue;
                differ++;
                float p = grid.point(grid.index(h));
                assertTrue(Math.abs(p - h) <= 0.5001f * grid.step(), a + ": h = " + h + " is not next to its grid point " + p);
                // one code away; or, where one grid step crosses several boundaries (next to GELU's minimum, where the
                // logarithmic levels crowd towards the shifted zero), levels that close together
                double apart = Math.abs(value(t, exact) - value(t, looked));
                assertTrue(Math.abs(exact - looked) == 1 || apart < 1e-4, a + ": h = " + h + " looked up " + Math.abs(exact - looked)
                        + " codes away, " + apart + " in value");
            }
            System.out.printf(java.util.Locale.ROOT, "%s: grid step %.3g, %d of %d codes differ from the exact ones%n", a, grid.step(), differ, n);
            assertTrue(differ <= n / 1000, a + ": " + differ + " of " + n + " codes differ");
        }
    }

    @Test
    void onnxRuntimeReadsTheTablesAtQuantizeLinearsPoint() throws Exception {
        SplittableRandom r = new SplittableRandom(11);
        for (AdaLogOperand a : operands()) {
            CodeTables t = a.gridCodeTables();
            GeluCodeLookup.Grid grid = GeluCodeLookup.grid(t);
            List<Float> hs = new ArrayList<>();
            for (int i = 0; i < 20_000; i++) hs.add((float) (r.nextDouble(-8, 16)));
            for (int k = 0; k < GeluCodeLookup.POINTS; k += 97) hs.add(grid.point(k));
            for (float h : new float[] {0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e4f, -1e4f, 3e38f, -3e38f, grid.point(0) - 1,
                    grid.point(GeluCodeLookup.POINTS - 1) + 1}) hs.add(h);
            // QuantizeLinear's division may round a value half way between two points either way: those are left out
            float[] x = new float[hs.size()];
            int m = 0;
            for (float h : hs) {
                double u = h / (double) grid.step();
                if (Math.abs(u - Math.floor(u) - 0.5) > 1e-3) x[m++] = h;
            }
            m -= m % 16;
            x = java.util.Arrays.copyOf(x, m);
            int width = m / 2;   // a multiple of 8: the lookup in 8 rows
            for (int part = 0; part < t.partCount(); part++) {
                float[] want = new float[m];
                for (int i = 0; i < m; i++) {
                    int code = t.tables()[part][exactCode(t, grid.point(grid.index(x[i])))];
                    want[i] = (float) (code - t.zeroPoints()[part]) * t.units()[part];
                }
                int p = part;
                for (boolean optimized : new boolean[] {false, true}) {
                    // rank 3, as fc1's output is: the lookup flattens the index and gives the parts h's shape back
                    float[] got = QdqEmitterTest.run(GeluCodeLookup.MIN_OPSET, new long[] {1, 2, m / 2}, x, optimized,
                            g -> GeluCodeLookup.parts(g, "x", width, t, "fc2").get(p));
                    QdqEmitterTest.assertSame(a + ", part " + p + (optimized ? " (optimized)" : ""), want, got);
                }
            }
        }
    }

    /** A scale so large that the last code change lies beyond the search: no grid, and the export keeps the computed codes. */
    @Test
    void noGridForAnUnboundedRange() {
        assertEquals(null, GeluCodeLookup.grid(new AdaLogOperand(4, 30, 1e7f, AdaLogOperand.GELU_SHIFT).gridCodeTables()));
    }

    @Test
    void rowsDivideTheWidth() {
        assertEquals(8, GeluCodeLookup.rows(768));
        assertEquals(4, GeluCodeLookup.rows(12));
        assertEquals(1, GeluCodeLookup.rows(7));
    }

    @Test
    void needsUint16Codes() {
        OnnxGraph g = new OnnxGraph("t", 17);
        assertThrows(IllegalStateException.class, () -> GeluCodeLookup.parts(g, "x", 8, operands().getFirst().gridCodeTables(), "a"));
    }
}
