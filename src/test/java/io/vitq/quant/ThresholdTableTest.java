package io.vitq.quant;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ThresholdTable} against the plain count of thresholds at or above each value (and so
 * against AdaLog's threshold cascade, {@link AdaLogOperand#cascade}), bit for bit: every base AdaLog
 * can pick and a few beyond, 6 to 8 bits, both shifts, on values spread over the thresholds' whole
 * range, the thresholds themselves and their float neighbours, zeros, negatives, denormals and
 * values past the largest threshold, at every vector position.
 */
public class ThresholdTableTest {

    /** Values around every threshold (each, its neighbours), log-uniform ones and the edge cases, minus the shift. */
    static float[] probes(float[] thr, float scale, float shift, long seed) {
        List<Float> v = new ArrayList<>();
        for (float t : thr) for (float u : new float[] {t, Math.nextUp(t), Math.nextDown(t), t * 1.01f, t * 0.99f}) v.add(u);
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < 3000; i++) v.add((float) (scale * Math.pow(2, 2 - 160 * r.nextDouble())));
        for (float e : new float[] {0f, -0f, Float.MIN_VALUE, Float.MIN_NORMAL, Math.nextDown(Float.MIN_NORMAL), 0x1p-100f,
                Math.nextDown(0x1p-100f), Math.nextUp(0x1p-100f), 1e-30f, 1e-40f, -1e-40f, -1f, -100f, scale, 2 * scale, 1e30f,
                Float.MAX_VALUE, -Float.MAX_VALUE}) v.add(e);
        float[] x = new float[v.size()];
        for (int i = 0; i < x.length; i++) x[i] = v.get(i) - shift;
        // shuffle, so that the rare values share vectors with ordinary ones
        for (int i = x.length - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            float t = x[i];
            x[i] = x[j];
            x[j] = t;
        }
        return x;
    }

    @Test
    void codesEqualThePlainCountBitForBit() {
        int tables = 0;
        for (int bits = 6; bits <= 8; bits++)
            for (int q : new int[] {1, 3, 10, 11, 23, 37, 64, 100, 137, 300, 512})
                for (float[] ss : new float[][] {{1f, 0f}, {2.7f, AdaLogOperand.GELU_SHIFT}, {3e-5f, 0f}}) {
                    AdaLogOperand a = new AdaLogOperand(bits, q, ss[0], ss[1]);
                    float[] thr = a.thresholds(), val = a.values();
                    ThresholdTable table = ThresholdTable.of(thr, val);
                    if (table == null) continue;
                    tables++;
                    float[] x = probes(thr, ss[0], ss[1], bits * 1000L + q);
                    float[] got = new float[x.length + 5], cascade = new float[x.length + 5];
                    table.apply(x, 0, ss[1], got, 5, x.length);
                    AdaLogOperand.cascade(thr, val, ss[1], x, 0, cascade, 5, x.length);
                    for (int i = 0; i < x.length; i++) {
                        float y = x[i] + ss[1];
                        float want = val[ThresholdTable.count(y, thr)];
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[5 + i]), a + ": x " + x[i] + " (y " + y + ")");
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(cascade[5 + i]), a + " cascade: x " + x[i]);
                    }
                }
        assertTrue(tables >= 90, "tables built: " + tables);
    }

    @Test
    void plainCountIsTheNumberOfThresholdsAtOrAbove() {
        float[] thr = {8f, 4f, 4f, 2f, 0f, 0f};
        assertEquals(0, ThresholdTable.count(9f, thr));
        assertEquals(1, ThresholdTable.count(8f, thr));
        assertEquals(3, ThresholdTable.count(4f, thr));
        assertEquals(3, ThresholdTable.count(3f, thr));
        assertEquals(4, ThresholdTable.count(1f, thr));
        assertEquals(6, ThresholdTable.count(0f, thr));
        assertEquals(6, ThresholdTable.count(-1f, thr));
    }

    @Test
    void thresholdsTooDenseForBucketsGetNoTable() {
        // equal neighbours: no bucket separates them, so the caller keeps the cascade
        float[] thr = new float[63];
        for (int i = 0; i < thr.length; i++) thr[i] = i < 10 ? 1f : (float) Math.pow(2, -i);
        float[] val = new float[64];
        assertNull(ThresholdTable.of(thr, val));
        for (int i = 0; i < thr.length; i++) thr[i] = (float) Math.pow(2, -i);
        assertNotNull(ThresholdTable.of(thr, val));
    }

    @Test
    void fakeQuantUsesTheTableFromSixBitsAndMatchesTheScalarCodes() {
        for (int bits : new int[] {4, 5, 6, 8}) {
            AdaLogOperand a = new AdaLogOperand(bits, 29, 0.8f, AdaLogOperand.GELU_SHIFT);
            float[] x = probes(a.thresholds(), 0.8f, AdaLogOperand.GELU_SHIFT, bits);
            float[] y = new float[x.length];
            a.fakeQuant("op", 0, x, 0, y, 0, x.length);
            for (int i = 0; i < x.length; i++) assertEquals(a.value(a.code(x[i])), y[i], a + " x " + x[i]);
        }
        assertTrue(new AdaLogOperand(6, 29, 1f, 0f).thresholds().length >= AdaLogOperand.TABLE_THRESHOLDS);
        assertTrue(new AdaLogOperand(5, 29, 1f, 0f).thresholds().length < AdaLogOperand.TABLE_THRESHOLDS);
    }
}
