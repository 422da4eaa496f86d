package io.vitq.quant;

import static io.vitq.quant.UniformQuantizerTest.assertBitsEqual;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class TwinGeluQuantizerTest {
    private static final String OP = "blocks.5.mlp.fc2";

    static float[] postGelu(SplittableRandom r, int n, TwinGeluQuantizer q) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = switch (r.nextInt(8)) {
                case 0 -> -(r.nextInt(130) + 0.5f) * q.negativeStep();   // negative ties, beyond -L
                case 1 -> (r.nextInt(130) + 0.5f) * q.positiveStep();    // positive ties, beyond L
                case 2 -> r.nextBoolean() ? 0f : -0f;
                case 3 -> (float) r.nextDouble(-0.17, 0);
                case 4 -> (float) r.nextDouble(-1, 0) * q.positiveStep(); // tiny of both signs
                case 5 -> (float) r.nextDouble(0, 1) * q.positiveStep();
                default -> (float) (r.nextGaussian() * 2);
            };
        }
        return x;
    }

    @Test
    void negativeStepIsTheReferenceConstant() {
        assertEquals(1.32790e-3f, TwinGeluQuantizer.defaultNegativeStep(8), 1e-8f);
        assertEquals(5.31160e-3f, TwinGeluQuantizer.defaultNegativeStep(6), 1e-8f);
        assertEquals((float) (0.16997124254703522 / 128), TwinGeluQuantizer.defaultNegativeStep(8));
    }

    @Test
    void followsTheDefinition() {
        SplittableRandom r = new SplittableRandom(4);
        for (int bits : new int[] {4, 6, 8}) {
            TwinGeluQuantizer q = new TwinGeluQuantizer(bits, 0.013f);
            int half = 1 << (bits - 1);
            float dn = q.negativeStep(), dp = q.positiveStep();
            for (float x : postGelu(r, 2000, q)) {
                float pos = (float) Math.max(0, Math.min(half - 1, Math.rint(x / dp))) * dp;
                float neg = (float) Math.max(-half, Math.min(0, Math.rint(x / dn))) * dn;
                assertEquals(pos + neg, q.fakeQuant(x), 0f, "x = " + x);
            }
            assertEquals(-half * dn, q.fakeQuant(-1f));        // fake quant reaches -2^(k-1)
            assertEquals((half - 1) * dp, q.fakeQuant(100f));
        }
        TwinGeluQuantizer q = new TwinGeluQuantizer(8, 1f);
        assertEquals(2f, q.fakeQuant(2.5f));   // ties to even on the positive grid
        assertEquals(0f, q.fakeQuant(0.5f));
    }

    @Test
    void vectorAndScalarPathsAreBitIdentical() {
        SplittableRandom r = new SplittableRandom(5);
        for (int bits : new int[] {2, 4, 6, 8, 12, 16})
            for (float dp : new float[] {0.003f, 0.0271f, 0.5f, TwinGeluQuantizer.defaultNegativeStep(bits) * 8}) {
                TwinGeluQuantizer q = new TwinGeluQuantizer(bits, dp);
                int len = 1 + r.nextInt(400);
                float[] x = postGelu(r, len, q), vec = new float[len], ref = new float[len];
                q.fakeQuant(OP, x, 0, vec, 0, len);
                for (int i = 0; i < len; i++) ref[i] = q.fakeQuant(x[i]);
                assertBitsEqual(ref, vec, q.toString());
            }
    }

    @Test
    void powerOfTwoDetection() {
        float dn = TwinGeluQuantizer.defaultNegativeStep(8);
        for (int m = 0; m <= 15; m++) {
            TwinGeluQuantizer q = new TwinGeluQuantizer(8, Math.scalb(dn, m));
            assertTrue(q.isPowerOfTwo());
            assertEquals(m, q.shift());
        }
        assertFalse(new TwinGeluQuantizer(8, 0.0271f).isPowerOfTwo());
        assertEquals(-1, new TwinGeluQuantizer(8, 0.0271f).shift());
        assertFalse(new TwinGeluQuantizer(8, dn / 2).isPowerOfTwo()); // m < 0 cannot be aligned by a left shift
        assertFalse(new TwinGeluQuantizer(8, Math.nextUp(dn * 4)).isPowerOfTwo());
        assertTrue(TwinGeluOperand.withDefaultNegativeStep(8, dn * 64).isPowerOfTwo());
    }

    @Test
    void everyCodeDecodesIntoItsRangeAndRoundTrips() {
        for (int bits : new int[] {2, 3, 6, 8, 11}) {
            TwinGeluQuantizer q = new TwinGeluQuantizer(bits, 0.0173f);
            int flag = q.rangeFlag();
            for (int c = 0; c < 2 * flag; c++) {
                float v = q.decode(c);
                int mag = c & (flag - 1);
                if ((c & flag) != 0) {
                    assertEquals(mag * q.positiveStep(), v);
                    assertTrue(v >= 0);
                } else {
                    assertEquals(mag == 0 ? 0f : -mag * q.negativeStep(), v);
                    assertTrue(v <= 0 && v >= -(flag - 1) * q.negativeStep());
                }
                if (c == flag) assertEquals(0, q.encode(v), "the flag-only code is an alias of zero");
                else assertEquals(c, q.encode(v), "bits " + bits + " code " + c);
            }
        }
    }

    @Test
    void codeLayoutMatchesSection6() {
        SplittableRandom r = new SplittableRandom(6);
        TwinGeluQuantizer q = new TwinGeluQuantizer(8, 0.02f);
        float[] x = postGelu(r, 3000, q);
        byte[] codes = new byte[x.length];
        q.encode(OP, x, 0, codes, 0, x.length);
        float[] dec = new float[x.length];
        q.decode(codes, 0, dec, 0, x.length);
        float limit = -127.5f * q.negativeStep();
        for (int i = 0; i < x.length; i++) {
            int mag = (int) Math.max(0, Math.min(127, Math.rint(x[i] > 0 ? x[i] / 0.02f : -x[i] / q.negativeStep())));
            int expected = x[i] > 0 && mag > 0 ? 0x80 | mag : x[i] > 0 ? 0 : mag;
            assertEquals(expected, codes[i] & 0xFF, "x = " + x[i]);
            if (x[i] > limit) assertEquals(q.fakeQuant(x[i]), dec[i], 0f, "x = " + x[i]);
            else assertEquals(-127 * q.negativeStep(), dec[i]); // codes saturate one level before the fake quant
        }
    }

    @Test
    void rejectsBadStepsAndInputs() {
        assertThrows(IllegalArgumentException.class, () -> new TwinGeluQuantizer(8, 0f));
        assertThrows(IllegalArgumentException.class, () -> new TwinGeluQuantizer(8, Float.NaN));
        assertThrows(IllegalArgumentException.class, () -> new TwinGeluQuantizer(8, 0.1f, -1f));
        TwinGeluQuantizer q = new TwinGeluQuantizer(8, 0.02f);
        float[] x = new float[20];
        x[19] = Float.NEGATIVE_INFINITY;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> q.fakeQuant(OP, x, 0, x, 0, 20));
        assertTrue(e.getMessage().contains(OP) && e.getMessage().contains("index 19"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> q.decode(256));
    }

    /** pos · Δpos + neg · Δneg is the fake quant; the factors are the code's magnitudes by range. */
    @Test
    void codeValuesSplitTheFakeQuantByRange() {
        SplittableRandom r = new SplittableRandom(22);
        for (int bits : new int[] {4, 8}) {
            TwinGeluQuantizer q = new TwinGeluQuantizer(bits, 0.0173f);
            float[] x = postGelu(r, 2051, q), pos = new float[x.length], neg = new float[x.length];
            q.codeValues("fc2", x, 0, pos, neg, 0, x.length);
            for (int i = 0; i < x.length; i++) {
                assertTrue(pos[i] >= 0 && neg[i] <= 0 && (pos[i] == 0 || neg[i] == 0), x[i] + ": " + pos[i] + ", " + neg[i]);
                assertTrue(Float.floatToRawIntBits(pos[i]) != 0x80000000 && Float.floatToRawIntBits(neg[i]) != 0x80000000);
                assertTrue(pos[i] * q.positiveStep() + neg[i] * q.negativeStep() == q.fakeQuant(x[i]), "x = " + x[i]);
                if (neg[i] > -q.rangeFlag()) { // the fake quant's -2^(k-1) has no uint8 code (class comment)
                    int code = q.encode(x[i]), mag = code & (q.rangeFlag() - 1);
                    assertEquals((code & q.rangeFlag()) != 0 ? mag : 0, (int) pos[i], "x = " + x[i]);
                    assertEquals((code & q.rangeFlag()) != 0 ? 0 : -mag, (int) neg[i], "x = " + x[i]);
                }
            }
        }
    }
}
